# Copyright (c) mmwsss contributors. All rights reserved.
"""PASCAL VOC 2012 + SBD: ``SegmentationClassAug`` with ``train_aug.txt``,
and COCO instance jsons from ``SegmentationObject``."""
import json
import os.path as osp
from operator import itemgetter
from typing import Dict, Iterable, List, Optional

import numpy as np

from mmwsss.fileio import (coco_categories, coco_json, encode_label_map,
                           encode_rle, read_index_png, read_label_map,
                           rle_area, rle_bbox)
from ..voc_wsss import VOC_CLASSES, read_split_ids
from .common import ConversionOutputs

SPLIT_DIR = osp.join('ImageSets', 'Segmentation')
AUG_DIR = 'SegmentationClassAug'
TRAIN_AUG = osp.join(SPLIT_DIR, 'train_aug.txt')


def read_sbd_mask(path: str, num_classes: int = 20) -> np.ndarray:
    """The class mask of an SBD ``cls/<id>.mat`` (``GTcls.Segmentation``).

    Args:
        path (str): The ``.mat`` file.
        num_classes (int): Foreground classes. Defaults to 20.

    Returns:
        np.ndarray: uint8 (H, W) labels in ``0..num_classes``.
    """
    from scipy.io import loadmat
    try:
        gt = loadmat(path, squeeze_me=True, struct_as_record=False)['GTcls']
        mask = np.asarray(gt.Segmentation)
    except Exception as e:  # scipy raises several unrelated types
        raise ValueError(f'Cannot read the SBD mask of {path}: {e}') from e
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f'{path}: GTcls.Segmentation must be a 2-D mask, '
                         f'got shape {mask.shape}')
    if mask.min() < 0 or mask.max() > num_classes:
        raise ValueError(f'{path}: labels must lie in 0..{num_classes}, got '
                         f'{mask.min()}..{mask.max()}')
    return mask.astype(np.uint8)


def track(items: List, enabled: bool) -> Iterable:
    """``items`` with a progress bar when ``enabled``."""
    if not enabled or not items:
        return items
    from mmengine.utils import track_iter_progress
    return track_iter_progress(items)


def _put_label_map(outputs: ConversionOutputs, path: str,
                   label: np.ndarray) -> None:
    """Write a label PNG unless an existing one holds the same labels
    (mmseg's converter writes grey PNGs; ours carry the VOC palette)."""
    if osp.isfile(path) and not outputs.overwrite:
        try:
            same = np.array_equal(read_label_map(path, 255), label)
        except ValueError:
            same = False
        if same:
            outputs.counts['unchanged'] += 1
            return
    outputs.put(path, encode_label_map(label))


def convert_voc_aug(voc_root: str,
                    sbd_root: Optional[str] = None,
                    overwrite: bool = False,
                    progress: bool = True) -> Dict[str, int]:
    """Make ``SegmentationClassAug/`` and ``train_aug.txt`` in ``voc_root``.

    ``train_aug`` is SBD's train and val plus VOC's train, minus VOC's val:
    10,582 images on the real data. ``SegmentationClassAug`` gets a mask for
    every image of ``train_aug`` and VOC ``val``: VOC's own
    ``SegmentationClass`` mask when the image has one (with its 255 object
    borders), SBD's otherwise.

    Without ``sbd_root`` the SBD masks must already be in
    ``SegmentationClassAug`` (the output of mmseg's ``voc_aug.py``, whose
    ``aug.txt``/``trainaug.txt`` list the SBD images); the masks that mmseg's
    converter leaves out (VOC images outside SBD) are added. mmseg keeps
    SBD's mask for images VOC also annotates; those differ from ours and are
    reported unless ``overwrite``.

    Args:
        voc_root (str): The ``VOCdevkit/VOC2012`` folder.
        sbd_root (str, optional): SBD's ``benchmark_RELEASE/dataset``
            folder (``cls/*.mat``, ``train.txt``, ``val.txt``).
        overwrite (bool): Replace existing files that differ. Defaults to
            False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, int]: ``train_aug`` and ``val`` image counts, and the file
        counts (``written``, ``unchanged``, ``replaced``).
    """
    voc_train = read_split_ids(osp.join(voc_root, SPLIT_DIR, 'train.txt'))
    voc_val = read_split_ids(osp.join(voc_root, SPLIT_DIR, 'val.txt'))
    aug_dir = osp.join(voc_root, AUG_DIR)
    if sbd_root is not None:
        sbd_ids = (read_split_ids(osp.join(sbd_root, 'train.txt')) +
                   read_split_ids(osp.join(sbd_root, 'val.txt')))
    else:
        listed = [
            osp.join(voc_root, SPLIT_DIR, name)
            for name in ('aug.txt', 'trainaug.txt')
        ]
        listed = [path for path in listed if osp.isfile(path)]
        if not listed or not osp.isdir(aug_dir):
            raise FileNotFoundError(
                f'Neither --sbd-root nor an mmseg voc_aug.py output in '
                f'{voc_root} ({AUG_DIR}/ and {SPLIT_DIR}/aug.txt or '
                'trainaug.txt): give the SBD folder (benchmark_RELEASE/'
                'dataset)')
        sbd_ids = [i for path in listed for i in read_split_ids(path)]
    val_set = set(voc_val)
    train_aug = sorted(set(sbd_ids + voc_train) - val_set)

    outputs = ConversionOutputs(overwrite)
    sbd_set = set(sbd_ids)
    for img_id in track(train_aug + sorted(val_set), progress):
        target = osp.join(aug_dir, img_id + '.png')
        voc_mask = osp.join(voc_root, 'SegmentationClass', img_id + '.png')
        if osp.isfile(voc_mask):
            label = read_label_map(voc_mask, len(VOC_CLASSES))
        elif sbd_root is not None and img_id in sbd_set:
            label = read_sbd_mask(
                osp.join(sbd_root, 'cls', img_id + '.mat'), len(VOC_CLASSES))
        elif osp.isfile(target):
            read_label_map(target, len(VOC_CLASSES))  # mmseg's, checked
            outputs.counts['unchanged'] += 1
            continue
        else:
            raise FileNotFoundError(
                f'No mask for image {img_id}: neither {voc_mask} nor an SBD '
                'mask')
        _put_label_map(outputs, target, label)
    outputs.put_text(
        osp.join(voc_root, TRAIN_AUG), ''.join(i + '\n' for i in train_aug))
    outputs.check(
        'mmseg\'s voc_aug.py keeps SBD\'s masks for images that VOC also '
        'annotates; this converter uses VOC\'s own masks for them.')
    return dict(train_aug=len(train_aug), val=len(voc_val), **outputs.counts)


def voc_instance_annotations(
        object_map: np.ndarray, class_map: np.ndarray,
        where: str = 'image') -> List[dict]:
    """COCO annotations of one image's ``SegmentationObject`` map.

    Each instance index ``k`` (1..254) is an object; its class is the
    class of its pixels in ``SegmentationClass`` (VOC paints both maps
    alike; 255 marks the borders in both).

    Args:
        object_map (np.ndarray): (H, W) instance indices, 0 background,
            255 border.
        class_map (np.ndarray): (H, W) class indices 0..20, 255 border.
        where (str): What to name in errors. Defaults to ``'image'``.

    Returns:
        list[dict]: ``category_id`` (1..20), ``segmentation`` (RLE),
        ``area``, ``bbox`` (xywh) and ``iscrowd`` 0 per instance, in index
        order.
    """
    if object_map.shape != class_map.shape:
        raise ValueError(f'{where}: SegmentationObject {object_map.shape} '
                         f'and SegmentationClass {class_map.shape} differ')
    annotations = []
    for index in np.unique(object_map):
        if index in (0, 255):
            continue
        mask = object_map == index
        classes = np.unique(class_map[mask])
        classes = classes[(classes != 0) & (classes != 255)]
        if classes.size != 1:
            raise ValueError(
                f'{where}: instance {index} covers classes '
                f'{classes.tolist()} in SegmentationClass (expected one)')
        rle = encode_rle(mask)
        annotations.append(
            dict(
                category_id=int(classes[0]),
                segmentation=rle,
                area=rle_area(rle),
                bbox=rle_bbox(rle),
                iscrowd=0))
    return annotations


def convert_voc_instances(voc_root: str,
                          split: str,
                          out_file: Optional[str] = None,
                          overwrite: bool = False,
                          progress: bool = True) -> Dict[str, int]:
    """Write the COCO instances json of a VOC segmentation split.

    Images are numbered 1..N in split-list order, ``file_name`` is
    ``<id>.jpg`` and the categories are VOC's 20 classes (ids 1..20, the
    names of mmdet's ``VOCDataset``), so mmdet's ``CocoDataset`` and
    ``CocoMetric`` read it with ``data_prefix=dict(img='JPEGImages/')``.

    Args:
        voc_root (str): The ``VOCdevkit/VOC2012`` folder.
        split (str): ``train`` or ``val`` (any list in
            ``ImageSets/Segmentation``).
        out_file (str, optional): Defaults to
            ``<voc_root>/annotations/instances_<split>2012.json``.
        overwrite (bool): Replace a differing existing json. Defaults to
            False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, int]: ``images`` and ``instances`` counts.
    """
    ids = read_split_ids(osp.join(voc_root, SPLIT_DIR, split + '.txt'))
    if out_file is None:
        out_file = osp.join(voc_root, 'annotations',
                            f'instances_{split}2012.json')
    records = []
    for img_id in track(ids, progress):
        object_file = osp.join(voc_root, 'SegmentationObject', img_id + '.png')
        class_file = osp.join(voc_root, 'SegmentationClass', img_id + '.png')
        object_map = read_index_png(object_file, 'Instance map')
        class_map = read_label_map(class_file, len(VOC_CLASSES))
        records.append(
            dict(
                file_name=img_id + '.jpg',
                height=int(object_map.shape[0]),
                width=int(object_map.shape[1]),
                objects=voc_instance_annotations(object_map, class_map,
                                                 object_file)))
    content = coco_json(records, list(range(1, len(records) + 1)),
                        itemgetter('objects'), coco_categories(VOC_CLASSES))
    outputs = ConversionOutputs(overwrite)
    outputs.put_text(out_file, json.dumps(content))
    outputs.check()
    return dict(images=len(records), instances=len(content['annotations']))
