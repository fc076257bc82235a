# Copyright (c) mmwsss contributors. All rights reserved.
"""ILSVRC 2012 for WSOL: one layout from the ImageNet devkit or Kaggle's
localization challenge files.

The layout :class:`mmwsss.ImageNetWSOLDataset` and mmpretrain's
``ImageNet`` read (``configs/_base_/datasets/imagenet_wsol.py``)::

    <out_root>/train/<wnid>/*.JPEG       (link to the training images)
    <out_root>/val/*.JPEG                (link to the flat validation folder)
    <out_root>/val_bbox/<stem>.xml       (link, or XMLs made from Kaggle's CSV)
    <out_root>/LOC_synset_mapping.txt    (wnid + words, sorted by wnid)

Labels 0..999 follow the sorted wnids, the order of the training folders.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple
from xml.sax.saxutils import escape

from PIL import Image

from .common import ConversionOutputs
from .voc import track


def devkit_synsets(meta_mat: str) -> List[Tuple[str, str]]:
    """The 1,000 leaf synsets of the devkit's ``data/meta.mat``.

    Args:
        meta_mat (str): ``ILSVRC2012_devkit_t12/data/meta.mat``.

    Returns:
        list[tuple[str, str]]: ``(wnid, words)`` sorted by wnid.
    """
    from scipy.io import loadmat
    try:
        synsets = loadmat(
            meta_mat, squeeze_me=True, struct_as_record=False)['synsets']
        leaves = [(str(s.WNID), str(s.words)) for s in synsets
                  if int(s.num_children) == 0]
    except Exception as e:  # scipy raises several unrelated types
        raise ValueError(f'Cannot read the synsets of {meta_mat}: {e}') from e
    if len(leaves) != 1000:
        raise ValueError(f'{meta_mat}: expected 1000 leaf synsets, found '
                         f'{len(leaves)}')
    return sorted(leaves)


def read_kaggle_boxes(csv_file: str) -> Dict[str, List[Tuple[str, list]]]:
    """Boxes of Kaggle's ``LOC_val_solution.csv``.

    Each row is ``ImageId,PredictionString`` with the string holding
    ``wnid xmin ymin xmax ymax`` groups.

    Returns:
        dict[str, list]: image stem -> ``[(wnid, [x0, y0, x1, y1]), ...]``.
    """
    if not osp.isfile(csv_file):
        raise FileNotFoundError(f'Kaggle solution file not found: {csv_file}')
    boxes = {}
    with open(csv_file) as f:
        for line_no, line in enumerate(f, 1):
            if line_no == 1 or not line.strip():
                continue
            stem, _, prediction = line.strip().partition(',')
            fields = prediction.split()
            if not fields or len(fields) % 5:
                raise ValueError(f'{csv_file}:{line_no}: expected groups of '
                                 f'"wnid xmin ymin xmax ymax", got '
                                 f'{prediction!r}')
            try:
                boxes[stem] = [(fields[i],
                                [float(v) for v in fields[i + 1:i + 5]])
                               for i in range(0, len(fields), 5)]
            except ValueError as e:
                raise ValueError(f'{csv_file}:{line_no}: {e}') from e
    return boxes


def box_xml(stem: str, width: int, height: int,
            objects: List[Tuple[str, list]]) -> str:
    """A VOC-style annotation like those of ``ILSVRC2012_bbox_val_v3``."""
    parts = [
        f'<annotation><filename>{escape(stem)}</filename><size>'
        f'<width>{width}</width><height>{height}</height><depth>3</depth>'
        '</size>'
    ]
    for wnid, (x0, y0, x1, y1) in objects:
        parts.append(f'<object><name>{escape(wnid)}</name><bndbox>'
                     f'<xmin>{x0:g}</xmin><ymin>{y0:g}</ymin>'
                     f'<xmax>{x1:g}</xmax><ymax>{y1:g}</ymax>'
                     '</bndbox></object>')
    return ''.join(parts) + '</annotation>\n'


def _link(outputs: ConversionOutputs, link: str, target: str) -> None:
    """Make ``link`` point at the folder ``target`` (checked to exist)."""
    if not osp.isdir(target):
        raise FileNotFoundError(f'Folder not found: {target}')
    target = osp.abspath(target)
    if osp.islink(link) or osp.exists(link):
        if osp.realpath(link) == osp.realpath(target):
            outputs.counts['unchanged'] += 1
            return
        if not outputs.overwrite or not osp.islink(link):
            outputs.conflicts.append(f'{link} (points elsewhere than '
                                     f'{target})')
            return
        os.remove(link)
        outputs.counts['replaced'] += 1
    else:
        outputs.counts['written'] += 1
    os.makedirs(osp.dirname(osp.abspath(link)), exist_ok=True)
    os.symlink(target, link)


def convert_ilsvrc_wsol(out_root: str,
                        devkit: Optional[str] = None,
                        kaggle: Optional[str] = None,
                        val_images: Optional[str] = None,
                        val_boxes: Optional[str] = None,
                        train_images: Optional[str] = None,
                        overwrite: bool = False,
                        progress: bool = True) -> Dict[str, int]:
    """Assemble the WSOL layout of ILSVRC 2012 in ``out_root``.

    Give either the devkit (``devkit`` = ``ILSVRC2012_devkit_t12``, with
    ``val_images`` = the unpacked ``ILSVRC2012_img_val.tar`` and
    ``val_boxes`` = the ``val`` folder of ``ILSVRC2012_bbox_val_v3.tgz``) or
    Kaggle's challenge folder (``kaggle``: ``LOC_synset_mapping.txt``,
    ``LOC_val_solution.csv``, ``ILSVRC/Data/CLS-LOC/{train,val}``, and
    ``ILSVRC/Annotations/CLS-LOC/val`` when present; without it the XMLs are
    written from the CSV, reading each image's size).

    Args:
        out_root (str): The dataset folder the configs read.
        devkit (str, optional): The devkit folder.
        kaggle (str, optional): Kaggle's folder.
        val_images (str, optional): Validation images (devkit route).
        val_boxes (str, optional): Validation XMLs (devkit route).
        train_images (str, optional): Training images, one folder per wnid
            (Kaggle's ``ILSVRC/Data/CLS-LOC/train`` by default).
        overwrite (bool): Replace differing outputs. Defaults to False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, int]: ``synsets`` and, where XMLs were made, ``xml``; and
        the file counts.
    """
    if (devkit is None) == (kaggle is None):
        raise ValueError('give either the devkit or the Kaggle folder')
    outputs = ConversionOutputs(overwrite)
    result = {}
    if devkit is not None:
        if val_images is None or val_boxes is None:
            raise ValueError('the devkit route needs the validation images '
                             'and the bbox XML folder')
        synsets = devkit_synsets(osp.join(devkit, 'data', 'meta.mat'))
        mapping = ''.join(f'{wnid} {words}\n' for wnid, words in synsets)
        result['synsets'] = len(synsets)
    else:
        mapping_file = osp.join(kaggle, 'LOC_synset_mapping.txt')
        if not osp.isfile(mapping_file):
            raise FileNotFoundError(f'Not found: {mapping_file}')
        with open(mapping_file) as f:
            mapping = f.read()
        result['synsets'] = sum(1 for line in mapping.splitlines() if line)
        val_images = val_images or osp.join(kaggle, 'ILSVRC', 'Data',
                                            'CLS-LOC', 'val')
        train_images = train_images or osp.join(kaggle, 'ILSVRC', 'Data',
                                                'CLS-LOC', 'train')
        xml_dir = osp.join(kaggle, 'ILSVRC', 'Annotations', 'CLS-LOC', 'val')
        if val_boxes is None and osp.isdir(xml_dir):
            val_boxes = xml_dir
    outputs.put_text(osp.join(out_root, 'LOC_synset_mapping.txt'), mapping)
    _link(outputs, osp.join(out_root, 'val'), val_images)
    if train_images is not None and osp.isdir(train_images):
        _link(outputs, osp.join(out_root, 'train'), train_images)
    if val_boxes is not None:
        _link(outputs, osp.join(out_root, 'val_bbox'), val_boxes)
    else:
        boxes = read_kaggle_boxes(osp.join(kaggle, 'LOC_val_solution.csv'))
        for stem in track(sorted(boxes), progress):
            image = osp.join(val_images, stem + '.JPEG')
            try:
                with Image.open(image) as img:
                    width, height = img.size
            except (OSError, ValueError) as e:
                raise ValueError(
                    f'Cannot read the size of {image}: {e}') from e
            outputs.put_text(
                osp.join(out_root, 'val_bbox', stem + '.xml'),
                box_xml(stem, width, height, boxes[stem]))
        result['xml'] = len(boxes)
    outputs.check()
    return dict(result, **outputs.counts)
