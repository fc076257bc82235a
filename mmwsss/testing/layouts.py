# Copyright (c) mmwsss contributors. All rights reserved.
"""Tiny copies of the real datasets, in their real layouts, made from
SynthVOC images.

The configs of VOC 2012 + SBD, COCO 2014, CUB-200-2011, ILSVRC,
OpenImages30k (wsolevaluation), FGVC-Aircraft and Stanford Dogs read
folders laid out as the distributed datasets after our converters
(``tools/dataset_converters``). These builders lay out a handful of SynthVOC
images the same way, with the raw parts written in the distributed formats
(VOC XMLs and palette PNGs, SBD ``.mat`` files, COCO jsons with the real
category ids, the devkit's ``meta.mat``) and the derived parts made by
running the converters on them, so that a test exercises the configs, the
datasets and the converters on the paths a user has. The real class counts
are kept (20 VOC classes, 80 COCO categories, 200 CUB classes, 1000
synsets); only a few classes have images.

Example:
    >>> from mmwsss.testing.layouts import build_real_layouts
    >>> roots = build_real_layouts('/tmp/layouts')  # doctest: +SKIP
    >>> roots['voc12aug']  # doctest: +SKIP
    '/tmp/layouts/VOCdevkit/VOC2012'
"""
import json
import os
import os.path as osp
import shutil
import xml.etree.ElementTree as ET
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from PIL import Image

from mmwsss.fileio import read_index_png, read_label_map, write_label_map
from .mcg import write_synthetic_mcg

#: COCO's 80 category names with their (non-contiguous) ids 1..90.
COCO_CATEGORY_IDS = dict(
    zip(('person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus',
         'train', 'truck', 'boat', 'traffic light', 'fire hydrant',
         'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog',
         'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe',
         'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
         'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat',
         'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
         'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl',
         'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot',
         'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
         'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
         'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
         'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase',
         'scissors', 'teddy bear', 'hair drier', 'toothbrush'),
        [i for i in range(1, 91) if i not in
         (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]))
# VOC names that COCO spells otherwise.
_COCO_NAME_OF_VOC = dict(
    aeroplane='airplane',
    motorbike='motorcycle',
    sofa='couch',
    tvmonitor='tv',
    diningtable='dining table',
    pottedplant='potted plant')

#: The SynthVOC knobs of the layouts: a few small images.
TINY_SYNTHVOC = dict(
    num_train=4,
    num_val=2,
    num_ood=2,
    image_size=(64, 96),
    wsol_images_per_class=2,
    saliency=True)


def make_tiny_synthvoc(root: str, seed: int = 0, **knobs) -> str:
    """Generate a SynthVOC of :data:`TINY_SYNTHVOC` size (unless ``root``
    already holds one).

    Args:
        root (str): Output folder.
        seed (int): Generator seed. Defaults to 0.
        **knobs: Knobs that replace those of :data:`TINY_SYNTHVOC`.

    Returns:
        str: ``root``.
    """
    from mmwsss.datasets.synthvoc import generate_synthetic_voc
    if not osp.isfile(osp.join(root, 'meta.json')):
        generate_synthetic_voc(root, seed=seed, **{**TINY_SYNTHVOC, **knobs})
    return root


def _synthvoc_meta(synthvoc: str) -> dict:
    with open(osp.join(synthvoc, 'meta.json')) as f:
        return json.load(f)


def _split_ids(synthvoc: str, split: str) -> List[str]:
    path = osp.join(synthvoc, 'ImageSets', 'Segmentation', split + '.txt')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def _write_mcg(folder: str, synthvoc: str, sid: str, stem: str) -> None:
    # MCG-like proposals of a SynthVOC image, where the configs with MCG
    # refinement read them (mmwsss.testing.mcg)
    os.makedirs(folder, exist_ok=True)
    write_synthetic_mcg(
        osp.join(folder, stem + '.mat'),
        read_index_png(
            osp.join(synthvoc, 'SegmentationObject', sid + '.png')))


def _write_lines(path: str, lines: List[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))


def _voc_names(classes: List[str]) -> Dict[str, str]:
    """SynthVOC class name -> a distinct VOC class name (SynthVOC also draws
    classes VOC does not have, e.g. camel)."""
    from mmwsss.datasets.voc_wsss import VOC_CLASSES
    free = [c for c in VOC_CLASSES if c not in classes]
    return {
        name: name if name in VOC_CLASSES else free.pop(0)
        for name in classes
    }


class _WSOLImage(NamedTuple):
    """One image of SynthVOC's WSOL set (CUB's tables)."""
    key: str  # CUB image id
    rel_path: str  # under wsol/images (and wsol/masks, as .png)
    label: int  # 0-based class
    is_train: bool
    boxes: List[Tuple[float, float, float, float]]  # x, y, w, h


def _wsol_images(synthvoc: str) -> List[_WSOLImage]:
    """The images of ``synthvoc/wsol`` with their labels, splits and boxes."""
    tables = {}
    for name in ('images', 'image_class_labels', 'train_test_split',
                 'bounding_boxes'):
        with open(osp.join(synthvoc, 'wsol', name + '.txt')) as f:
            tables[name] = {}
            for line in f:
                key, value = line.split(None, 1)
                tables[name].setdefault(key, []).append(value.strip())
    return [
        _WSOLImage(key, rel_path,
                   int(tables['image_class_labels'][key][0]) - 1,
                   tables['train_test_split'][key][0] == '1', [
                       tuple(float(v) for v in box.split())
                       for box in tables['bounding_boxes'][key]
                   ]) for key, (rel_path, ) in tables['images'].items()
    ]


def make_voc2012_sbd(root: str, synthvoc: str) -> str:
    """Lay out VOC 2012 + SBD and run our VOC converters on them.

    Written as distributed: ``VOCdevkit/VOC2012/{JPEGImages, Annotations,
    SegmentationClass, SegmentationObject, ImageSets/Segmentation/{train,
    val}.txt}`` plus the ``Saliency/`` PNGs of SynthVOC where it has them
    (the grey maps DSRG's configs read, as a saliency model writes them),
    ``MCG/<id>.mat`` MCG-like proposals of every image
    (:mod:`mmwsss.testing.mcg`, in the MCG authors' file format)
    (VOC's own masks for its ``train`` and ``val`` only, VOC's
    20-class indices and palette) and SBD's ``benchmark_RELEASE/dataset/
    {cls/*.mat, train.txt, val.txt}``. SBD covers the SynthVOC training
    images after the first, which VOC does not segment, and one VOC ``val``
    image (left out of ``train_aug``, as on the real data). Then
    :func:`mmwsss.datasets.converters.convert_voc_aug` makes
    ``SegmentationClassAug`` + ``train_aug.txt`` and
    :func:`~mmwsss.datasets.converters.convert_voc_instances`
    ``annotations/instances_{train,val}2012.json``.

    Args:
        root (str): Folder that receives ``VOCdevkit/`` and
            ``benchmark_RELEASE/``.
        synthvoc (str): A SynthVOC folder (see :func:`make_tiny_synthvoc`).

    Returns:
        str: The ``VOCdevkit/VOC2012`` folder.
    """
    from scipy.io import savemat

    from mmwsss.datasets.converters import (convert_voc_aug,
                                            convert_voc_instances)
    from mmwsss.datasets.voc_wsss import VOC_CLASSES
    meta = _synthvoc_meta(synthvoc)
    renamed = _voc_names(meta['classes'])
    # SynthVOC label k (1-based) -> VOC label
    lut = np.arange(256, dtype=np.uint8)
    for k, name in enumerate(meta['classes'], 1):
        lut[k] = VOC_CLASSES.index(renamed[name]) + 1
    train, val = _split_ids(synthvoc, 'train'), _split_ids(synthvoc, 'val')
    voc_id = {
        sid: f'2012_{i:06d}'
        for i, sid in enumerate(train + val, 1)
    }
    voc = osp.join(root, 'VOCdevkit', 'VOC2012')
    sbd = osp.join(root, 'benchmark_RELEASE', 'dataset')
    for folder in ('JPEGImages', 'Annotations', 'SegmentationClass',
                   'SegmentationObject'):
        os.makedirs(osp.join(voc, folder), exist_ok=True)
    os.makedirs(osp.join(sbd, 'cls'), exist_ok=True)
    voc_segmented = train[:2] + val
    sbd_train, sbd_val = train[1:], val[:1]
    for sid, vid in voc_id.items():
        shutil.copyfile(
            osp.join(synthvoc, 'JPEGImages', sid + '.jpg'),
            osp.join(voc, 'JPEGImages', vid + '.jpg'))
        tree = ET.parse(osp.join(synthvoc, 'Annotations', sid + '.xml'))
        tree.getroot().find('folder').text = 'VOC2012'
        tree.getroot().find('filename').text = vid + '.jpg'
        for obj in tree.getroot().iter('object'):
            obj.find('name').text = renamed[obj.find('name').text]
        tree.write(osp.join(voc, 'Annotations', vid + '.xml'))
        label = lut[read_label_map(
            osp.join(synthvoc, 'SegmentationClass', sid + '.png'),
            len(meta['classes']))]
        if sid in voc_segmented:
            write_label_map(
                osp.join(voc, 'SegmentationClass', vid + '.png'), label)
            shutil.copyfile(
                osp.join(synthvoc, 'SegmentationObject', sid + '.png'),
                osp.join(voc, 'SegmentationObject', vid + '.png'))
        saliency = osp.join(synthvoc, 'Saliency', sid + '.png')
        if osp.isfile(saliency):
            os.makedirs(osp.join(voc, 'Saliency'), exist_ok=True)
            shutil.copyfile(saliency, osp.join(voc, 'Saliency', vid + '.png'))
        _write_mcg(osp.join(voc, 'MCG'), synthvoc, sid, vid)
        if sid in sbd_train + sbd_val:
            # SBD has no void band: its borders belong to the background
            savemat(
                osp.join(sbd, 'cls', vid + '.mat'), {
                    'GTcls': {
                        'Segmentation': np.where(label == 255, 0, label),
                        'CategoriesPresent':
                        np.unique(label[(label > 0) & (label < 255)])
                    }
                })
    split_dir = osp.join(voc, 'ImageSets', 'Segmentation')
    _write_lines(
        osp.join(split_dir, 'train.txt'), [voc_id[i] for i in train[:2]])
    _write_lines(osp.join(split_dir, 'val.txt'), [voc_id[i] for i in val])
    _write_lines(osp.join(sbd, 'train.txt'), [voc_id[i] for i in sbd_train])
    _write_lines(osp.join(sbd, 'val.txt'), [voc_id[i] for i in sbd_val])
    convert_voc_aug(voc, sbd, progress=False)
    for split in ('train', 'val'):
        convert_voc_instances(voc, split, progress=False)
    return voc


def make_ood_images(root: str, synthvoc: str) -> str:
    """The OoD image folder of W-OoD: ``OoD_images/`` with the images and
    ``ood_list.txt`` (their paths relative to the folder).

    Args:
        root (str): Folder that receives ``OoD_images``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``OoD_images`` folder.
    """
    out = osp.join(root, 'OoD_images')
    shutil.copytree(osp.join(synthvoc, 'OoD'), out, dirs_exist_ok=True)
    _write_lines(
        osp.join(out, 'ood_list.txt'),
        sorted(name for name in os.listdir(out) if name.endswith('.jpg')))
    return out


def make_coco2014(root: str, synthvoc: str) -> str:
    """Lay out COCO 2014 and run :func:`convert_coco14_wsss` on both splits.

    ``train2014/COCO_train2014_<12 digits>.jpg`` (and ``val2014``) with
    ``annotations/instances_{train,val}2014.json`` holding all 80 categories
    with COCO's ids, SynthVOC's objects under the COCO names of their VOC
    classes, and ``MCG/<image stem>.mat`` MCG-like proposals of every
    image (:mod:`mmwsss.testing.mcg`). The converter then writes
    ``SegmentationClass/<split>/``, ``ImageSets/<split>.txt`` and
    ``meta.json``.

    Args:
        root (str): Folder that receives ``coco/``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``coco`` folder.
    """
    from mmwsss.datasets.converters import convert_coco14_wsss
    meta = _synthvoc_meta(synthvoc)
    renamed = _voc_names(meta['classes'])
    coco_id = {
        k: COCO_CATEGORY_IDS[_COCO_NAME_OF_VOC.get(renamed[name],
                                                   renamed[name])]
        for k, name in enumerate(meta['classes'], 1)
    }
    categories = [
        dict(id=i, name=name, supercategory='')
        for name, i in COCO_CATEGORY_IDS.items()
    ]
    coco = osp.join(root, 'coco')
    for split, coco_split in (('train', 'train2014'), ('val', 'val2014')):
        with open(osp.join(synthvoc, 'annotations',
                           f'instances_{split}.json')) as f:
            data = json.load(f)
        os.makedirs(osp.join(coco, coco_split), exist_ok=True)
        for image in data['images']:
            name = f'COCO_{coco_split}_{image["id"]:012d}.jpg'
            shutil.copyfile(
                osp.join(synthvoc, 'JPEGImages', image['file_name']),
                osp.join(coco, coco_split, name))
            _write_mcg(
                osp.join(coco, 'MCG'), synthvoc,
                osp.splitext(image['file_name'])[0], osp.splitext(name)[0])
            image['file_name'] = name
        for ann in data['annotations']:
            ann['category_id'] = coco_id[ann['category_id']]
        data['categories'] = categories
        out = osp.join(coco, 'annotations', f'instances_{coco_split}.json')
        os.makedirs(osp.dirname(out), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(data, f)
        convert_coco14_wsss(coco, coco_split, progress=False)
    return coco


def make_cub(root: str, synthvoc: str) -> str:
    """Lay out ``CUB_200_2011`` from SynthVOC's WSOL set.

    SynthVOC's ``wsol/`` already has CUB's files; ``classes.txt`` is
    completed to CUB's 200 classes (only the first few have images).

    Args:
        root (str): Folder that receives ``CUB_200_2011``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``CUB_200_2011`` folder.
    """
    cub = osp.join(root, 'CUB_200_2011')
    wsol = osp.join(synthvoc, 'wsol')
    shutil.copytree(
        wsol,
        cub,
        ignore=shutil.ignore_patterns('masks'),
        dirs_exist_ok=True)
    with open(osp.join(wsol, 'classes.txt')) as f:
        names = [line.split()[1] for line in f if line.strip()]
    names += [f'{i:03d}.Bird_{i}' for i in range(len(names) + 1, 201)]
    _write_lines(
        osp.join(cub, 'classes.txt'),
        [f'{i} {name}' for i, name in enumerate(names, 1)])
    return cub


def make_openimages_wsol(root: str, synthvoc: str) -> str:
    """Lay out wsolevaluation's OpenImages30k from SynthVOC's WSOL set.

    ``OpenImages/{train,val,test}/<class>/<stem>.jpg`` with, for ``val`` and
    ``test`` (SynthVOC's WSOL test images, in both), one instance mask
    ``<stem>_m0.png`` per image and an ignore mask ``<stem>_ignore.png`` for
    the first; ``metadata/OpenImages/<split>/{image_ids,class_labels}.txt``
    and, for ``val`` and ``test``, ``localization.txt`` (``path,mask,
    ignore``), the paths relative to ``OpenImages``.

    Args:
        root (str): Folder that receives ``wsolevaluation/``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``wsolevaluation`` folder.
    """
    out = osp.join(root, 'wsolevaluation')
    wsol = osp.join(synthvoc, 'wsol')
    images = _wsol_images(synthvoc)
    for split in ('train', 'val', 'test'):
        ids, labels, localization = [], [], []
        for image in images:
            if image.is_train != (split == 'train'):
                continue
            rel_path = f'{split}/{image.rel_path}'
            dst = osp.join(out, 'OpenImages', rel_path)
            os.makedirs(osp.dirname(dst), exist_ok=True)
            shutil.copyfile(osp.join(wsol, 'images', image.rel_path), dst)
            ids.append(rel_path)
            labels.append(f'{rel_path},{image.label}')
            if split == 'train':
                continue
            stem = osp.splitext(rel_path)[0]
            shutil.copyfile(
                osp.join(wsol, 'masks',
                         osp.splitext(image.rel_path)[0] + '.png'),
                osp.join(out, 'OpenImages', stem + '_m0.png'))
            ignore = ''
            if not localization:
                # a corner band the annotators left out
                with Image.open(dst) as img:
                    band = np.zeros((img.height, img.width), np.uint8)
                band[:, :img.width // 8] = 255
                ignore = stem + '_ignore.png'
                Image.fromarray(band).save(
                    osp.join(out, 'OpenImages', ignore))
            localization.append(f'{rel_path},{stem}_m0.png,{ignore}')
        meta = osp.join(out, 'metadata', 'OpenImages', split)
        _write_lines(osp.join(meta, 'image_ids.txt'), ids)
        _write_lines(osp.join(meta, 'class_labels.txt'), labels)
        if localization:
            _write_lines(osp.join(meta, 'localization.txt'), localization)
    return out


def make_fgvc_aircraft(root: str, synthvoc: str) -> str:
    """Lay out ``fgvc-aircraft-2013b/data`` from SynthVOC's WSOL set.

    ``images/<7 digits>.jpg``, ``images_box.txt`` (``id x0 y0 x1 y1``,
    1-based inclusive corners), ``images_{variant,family}_{trainval,test}
    .txt`` (``id name``, names with spaces) and ``variants.txt`` /
    ``families.txt`` with the real 100 variants / 70 families (only the
    first few have images).

    Args:
        root (str): Folder that receives ``fgvc-aircraft-2013b``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``fgvc-aircraft-2013b/data`` folder.
    """
    data = osp.join(root, 'fgvc-aircraft-2013b', 'data')
    variants = [f'Variant {i}' for i in range(100)]
    families = [f'Family {i}' for i in range(70)]
    boxes = []
    split_lines = {
        (level, split): []
        for level in ('variant', 'family') for split in ('trainval', 'test')
    }
    for image in _wsol_images(synthvoc):
        image_id = f'{1000000 + int(image.key):07d}'
        dst = osp.join(data, 'images', image_id + '.jpg')
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copyfile(
            osp.join(synthvoc, 'wsol', 'images', image.rel_path), dst)
        x, y, w, h = image.boxes[0]  # one aircraft per image
        boxes.append(f'{image_id} {x + 1:g} {y + 1:g} {x + w:g} {y + h:g}')
        split = 'trainval' if image.is_train else 'test'
        split_lines['variant', split].append(
            f'{image_id} {variants[image.label]}')
        split_lines['family', split].append(
            f'{image_id} {families[image.label % 70]}')
    _write_lines(osp.join(data, 'images_box.txt'), boxes)
    for (level, split), lines in split_lines.items():
        _write_lines(osp.join(data, f'images_{level}_{split}.txt'), lines)
    _write_lines(osp.join(data, 'variants.txt'), variants)
    _write_lines(osp.join(data, 'families.txt'), families)
    return data


def make_stanford_dogs(root: str, synthvoc: str) -> str:
    """Lay out Stanford Dogs from SynthVOC's WSOL set.

    ``Images/<wnid>-<breed>/<wnid>_<n>.jpg`` for the real 120 breeds (only
    the first few have images), one VOC-style XML per image in
    ``Annotation/<wnid>-<breed>/<wnid>_<n>`` (no extension) and
    ``lists/{train,test}_list.mat`` (``file_list``, ``annotation_list``,
    1-based ``labels``), as in ``lists.tar``.

    Args:
        root (str): Folder that receives ``StanfordDogs``.
        synthvoc (str): A SynthVOC folder.

    Returns:
        str: The ``StanfordDogs`` folder.
    """
    from scipy.io import savemat

    from mmwsss.datasets.converters import box_xml
    dogs = osp.join(root, 'StanfordDogs')
    breeds = [f'n{2085620 + 7 * i:08d}-Breed_{i}' for i in range(120)]
    for breed in breeds:
        os.makedirs(osp.join(dogs, 'Images', breed), exist_ok=True)
        os.makedirs(osp.join(dogs, 'Annotation', breed), exist_ok=True)
    lists = dict(train=[], test=[])
    for image in _wsol_images(synthvoc):
        breed = breeds[image.label]
        stem = f'{breed.split("-")[0]}_{image.key}'
        rel_path = f'{breed}/{stem}.jpg'
        with Image.open(osp.join(synthvoc, 'wsol', 'images',
                                 image.rel_path)) as img:
            img.save(osp.join(dogs, 'Images', rel_path))
            width, height = img.size
        with open(osp.join(dogs, 'Annotation', breed, stem), 'w') as f:
            f.write(
                box_xml(stem, width, height,
                        [(breed.split('-', 1)[1], [x, y, x + w, y + h])
                         for x, y, w, h in image.boxes]))
        lists['train' if image.is_train else 'test'].append(
            (rel_path, image.label + 1))
    os.makedirs(osp.join(dogs, 'lists'), exist_ok=True)
    for split, rows in lists.items():
        # MATLAB cell columns of strings, as scipy reads them back
        files = np.empty((len(rows), 1), dtype=object)
        annotations = np.empty((len(rows), 1), dtype=object)
        for i, (rel_path, _) in enumerate(rows):
            files[i, 0] = np.array([rel_path])
            annotations[i, 0] = np.array([osp.splitext(rel_path)[0]])
        savemat(
            osp.join(dogs, 'lists', f'{split}_list.mat'),
            dict(
                file_list=files,
                annotation_list=annotations,
                labels=np.array([[label] for _, label in rows],
                                dtype=np.float64)))
    return dogs


def make_ilsvrc(root: str, synthvoc: str, num_synsets: int = 1000) -> str:
    """Lay out ILSVRC 2012 as the devkit distributes it and run
    :func:`convert_ilsvrc_wsol` (devkit route).

    The devkit's ``data/meta.mat`` lists ``num_synsets`` leaf synsets (and
    one inner node); training images lie in ``train/<wnid>/`` for all of
    them, only the first few holding images (SynthVOC's WSOL classes), the
    validation images flat in ``val/`` with one box XML each in
    ``val_bbox/``.

    Args:
        root (str): Folder that receives the sources and ``imagenet/``.
        synthvoc (str): A SynthVOC folder.
        num_synsets (int): Defaults to 1000 (ILSVRC's).

    Returns:
        str: The ``imagenet`` folder the configs read.
    """
    from scipy.io import savemat

    from mmwsss.datasets.converters import box_xml, convert_ilsvrc_wsol
    wnids = [f'n{1440764 + 7 * i:08d}' for i in range(num_synsets)]
    records = [(k + 1, wnid, f'synset {k}', 0)
               for k, wnid in enumerate(reversed(wnids))]
    records.append((num_synsets + 1, 'n00001740', 'entity', 3))
    devkit = osp.join(root, 'ILSVRC2012_devkit_t12')
    os.makedirs(osp.join(devkit, 'data'), exist_ok=True)
    savemat(
        osp.join(devkit, 'data', 'meta.mat'), {
            'synsets':
            np.array(
                records,
                dtype=[('ILSVRC2012_ID', 'O'), ('WNID', 'O'),
                       ('words', 'O'), ('num_children', 'O')])
        })
    wsol = osp.join(synthvoc, 'wsol')
    train_dir = osp.join(root, 'ILSVRC2012_img_train')
    val_dir = osp.join(root, 'ILSVRC2012_img_val')
    box_dir = osp.join(root, 'ILSVRC2012_bbox_val')
    for folder in [val_dir, box_dir] + [osp.join(train_dir, w) for w in wnids]:
        os.makedirs(folder, exist_ok=True)
    val_index = 0
    for image in _wsol_images(synthvoc):
        wnid = wnids[image.label]
        src = osp.join(wsol, 'images', image.rel_path)
        if image.is_train:
            stem = f'{wnid}_{image.key}'
            Image.open(src).save(osp.join(train_dir, wnid, stem + '.JPEG'))
            continue
        val_index += 1
        stem = f'ILSVRC2012_val_{val_index:08d}'
        with Image.open(src) as img:
            img.save(osp.join(val_dir, stem + '.JPEG'))
            width, height = img.size
        boxes = [(wnid, [x, y, x + w, y + h]) for x, y, w, h in image.boxes]
        with open(osp.join(box_dir, stem + '.xml'), 'w') as f:
            f.write(box_xml(stem, width, height, boxes))
    imagenet = osp.join(root, 'imagenet')
    convert_ilsvrc_wsol(
        imagenet,
        devkit=devkit,
        val_images=val_dir,
        val_boxes=box_dir,
        train_images=train_dir,
        progress=False)
    return imagenet


def build_real_layouts(root: str,
                       synthvoc: Optional[str] = None,
                       seed: int = 0) -> Dict[str, str]:
    """Every real layout of :mod:`mmwsss.testing.layouts` under ``root``.

    Args:
        root (str): Output folder.
        synthvoc (str, optional): SynthVOC source; a tiny one is generated
            in ``root/synthvoc`` when None. Defaults to None.
        seed (int): Seed of the generated SynthVOC. Defaults to 0.

    Returns:
        dict[str, str]: The folders the configs' ``data_root`` name, by
        dataset: ``voc12aug`` (``VOCdevkit/VOC2012``), ``voc12aug-ood``
        (``OoD_images``), ``coco14`` (``coco``), ``coco14-ood``
        (``coco_ood/OoD_images``: W-OoD's OoD set of the COCO configs,
        SynthVOC's background-only images), ``cub``
        (``CUB_200_2011``), ``in1k`` (``imagenet``), ``openimages``
        (``wsolevaluation``), ``fgvc-aircraft``
        (``fgvc-aircraft-2013b/data``), ``stanford-dogs``
        (``StanfordDogs``) and ``synthvoc``.
    """
    if synthvoc is None:
        synthvoc = make_tiny_synthvoc(osp.join(root, 'synthvoc'), seed)
    return {
        'synthvoc': synthvoc,
        'voc12aug': make_voc2012_sbd(root, synthvoc),
        'voc12aug-ood': make_ood_images(root, synthvoc),
        'coco14': make_coco2014(root, synthvoc),
        'coco14-ood': make_ood_images(osp.join(root, 'coco_ood'), synthvoc),
        'cub': make_cub(root, synthvoc),
        'in1k': make_ilsvrc(root, synthvoc),
        'openimages': make_openimages_wsol(root, synthvoc),
        'fgvc-aircraft': make_fgvc_aircraft(root, synthvoc),
        'stanford-dogs': make_stanford_dogs(root, synthvoc),
    }
