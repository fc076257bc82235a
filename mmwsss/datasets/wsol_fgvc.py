# Copyright (c) mmwsss contributors. All rights reserved.
"""FGVC-Aircraft and Stanford Dogs for WSOL (the datasets of RFGA).

Items as :mod:`mmwsss.datasets.wsol` describes them: ``img_path``,
``img_id``, ``gt_label`` and ``gt_bboxes`` (float32 (N, 4) xyxy boxes as the
dataset writes them; the metric rescales them to the score map).
"""
import os
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import scipy.io

from mmwsss.registry import DATASETS
from .wsol import (_boxes_array, _check_box, _convert, _parse_voc_xml,
                   _read_rows, _WSOLDataset)


@DATASETS.register_module()
class FGVCAircraftWSOLDataset(_WSOLDataset):
    """FGVC-Aircraft (``fgvc-aircraft-2013b``) in its official layout.

    Reads, under ``data_root`` (the archive's ``data`` folder):
    ``images/<id>.jpg``, ``images_box.txt`` (``<id> xmin ymin xmax ymax``, one
    box per image, corners inclusive with the top-left pixel at (1, 1), kept
    as written), ``images_{level}_{split}.txt`` (``<id> <class name>``; names
    contain spaces) and the class list ``variants.txt`` / ``families.txt`` /
    ``manufacturers.txt`` (one name per line, whose order gives the labels).
    The images keep their 20-pixel copyright banner at the bottom.

    Args:
        data_root (str): The ``fgvc-aircraft-2013b/data`` folder.
        split (str): ``'train'``, ``'val'``, ``'trainval'`` or ``'test'``.
            Defaults to ``'test'``.
        level (str): ``'variant'`` (100 classes, the usual benchmark),
            ``'family'`` or ``'manufacturer'``. Defaults to ``'variant'``.
        data_prefix (dict): ``img_path`` folder. Defaults to
            ``dict(img_path='images')``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    SPLITS = ('train', 'val', 'trainval', 'test')
    CLASS_FILES = dict(
        variant='variants.txt',
        family='families.txt',
        manufacturer='manufacturers.txt')

    def __init__(self,
                 data_root: str,
                 split: str = 'test',
                 level: str = 'variant',
                 data_prefix: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.split = self._check_split(split)
        if level not in self.CLASS_FILES:
            raise ValueError(f'level must be one of {tuple(self.CLASS_FILES)}'
                             f', got {level!r}')
        self.level = level
        self.class_file = osp.join(data_root, self.CLASS_FILES[level])
        names = self._read_class_names(self.class_file)
        self._class_index = {name: i for i, name in enumerate(names)}
        super().__init__(
            dict(classes=names),
            metainfo,
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path='images'),
            **kwargs)

    @staticmethod
    def _read_class_names(path: str) -> tuple:
        names = tuple(fields[0].strip() for _, fields in _read_rows(path, 1))
        if len(set(names)) != len(names):
            raise ValueError(f'{path} lists a class twice')
        return names

    def load_data_list(self) -> List[dict]:
        """Join the split's labels with the boxes of ``images_box.txt``."""
        box_file = osp.join(self.data_root, 'images_box.txt')
        boxes = {}
        for line_no, fields in _read_rows(box_file, 5):
            box = [_convert(box_file, line_no, v, float) for v in fields[1:]]
            _check_box(f'{box_file}, line {line_no}', box)
            boxes.setdefault(fields[0], []).append(box)
        label_file = osp.join(self.data_root,
                              f'images_{self.level}_{self.split}.txt')
        data_list = []
        for line_no, (image_id, name) in _read_rows(label_file, 2):
            name = name.strip()
            if name not in self._class_index:
                raise ValueError(f'{label_file}, line {line_no}: class '
                                 f'{name!r} is not in {self.class_file}')
            if image_id not in boxes:
                raise ValueError(f'{box_file} has no box for image '
                                 f'{image_id} of {label_file}')
            data_list.append(
                self._item(image_id, f'{image_id}.jpg',
                           self._class_index[name],
                           _boxes_array(boxes[image_id])))
        return data_list


def _mat_strings(cells: np.ndarray) -> List[str]:
    """The strings of a MATLAB cell array read by ``scipy.io.loadmat``."""
    strings = []
    for cell in np.asarray(cells, dtype=object).ravel():
        while isinstance(cell, np.ndarray):
            cell = cell.ravel()[0]
        strings.append(str(cell))
    return strings


@DATASETS.register_module()
class StanfordDogsWSOLDataset(_WSOLDataset):
    """Stanford Dogs in its official layout, with the boxes of its XMLs.

    Reads, under ``data_root``: ``Images/<wnid>-<breed>/<stem>.jpg``,
    ``Annotation/<wnid>-<breed>/<stem>`` (PASCAL-VOC-style XML without an
    extension; every ``object`` box, as written, and the image size) and
    the split list: the official ``{split}_list.mat`` (``file_list`` and
    1-based ``labels``; looked up in ``data_root`` then ``data_root/lists``)
    or a text file with one ``Images``-relative path per line. Classes are the
    breed folders of ``Images`` in sorted order (the order of the official
    labels, checked against them); names are the breeds, wnids in
    ``metainfo['wnids']``.

    Args:
        data_root (str): The dataset folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'test'``.
        list_file (str, optional): Split list relative to ``data_root``
            (``.mat`` or text). Defaults to None (the official ``.mat``).
        data_prefix (dict): ``img_path`` and ``ann_path`` folders. Defaults
            to ``dict(img_path='Images', ann_path='Annotation')``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'test',
                 list_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.split = self._check_split(split)
        self.list_file = self._find_list(data_root, split, list_file)
        prefix = dict(img_path='Images', ann_path='Annotation')
        prefix.update(data_prefix or {})
        image_dir = osp.join(data_root, prefix['img_path'])
        if not osp.isdir(image_dir):
            raise FileNotFoundError(f'Image folder not found: {image_dir}')
        self._folders = sorted(
            d for d in os.listdir(image_dir)
            if osp.isdir(osp.join(image_dir, d)))
        super().__init__(
            dict(
                classes=tuple(d.partition('-')[2] or d for d in self._folders),
                wnids=tuple(d.partition('-')[0] for d in self._folders)),
            metainfo,
            data_root=data_root,
            data_prefix=prefix,
            **kwargs)

    @staticmethod
    def _find_list(data_root: str, split: str,
                   list_file: Optional[str]) -> str:
        candidates = [list_file] if list_file else [
            f'{split}_list.mat', osp.join('lists', f'{split}_list.mat')
        ]
        for candidate in candidates:
            path = osp.join(data_root, candidate)
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f'Split list not found: {" or ".join(candidates)} in {data_root}')

    def _read_list(self) -> List[tuple]:
        """(Images-relative path, official 0-based label or None) pairs."""
        if not self.list_file.endswith('.mat'):
            return [(fields[0].strip(), None)
                    for _, fields in _read_rows(self.list_file, 1)]
        mat = scipy.io.loadmat(self.list_file)
        if 'file_list' not in mat:
            raise ValueError(f'{self.list_file} has no file_list')
        files = _mat_strings(mat['file_list'])
        labels = [None] * len(files)
        if 'labels' in mat:
            labels = [int(v) - 1 for v in np.asarray(mat['labels']).ravel()]
            if len(labels) != len(files):
                raise ValueError(f'{self.list_file}: {len(files)} files but '
                                 f'{len(labels)} labels')
        return list(zip(files, labels))

    def load_data_list(self) -> List[dict]:
        """Read the split list and the XML of every listed image."""
        folder_index: Dict[str, int] = {
            d: i
            for i, d in enumerate(self._folders)
        }
        data_list = []
        for rel_path, official in self._read_list():
            folder = rel_path.replace('\\', '/').split('/')[0]
            if folder not in folder_index:
                raise ValueError(f'{self.list_file}: {rel_path} is not in a '
                                 'breed folder of '
                                 f'{self.data_prefix["img_path"]}')
            label = folder_index[folder]
            if official is not None and official != label:
                raise ValueError(
                    f'{self.list_file}: {rel_path} has label {official + 1}, '
                    f'but its folder is class {label + 1} of the sorted '
                    'breed folders')
            stem = osp.splitext(rel_path)[0]
            _, boxes, shape = _parse_voc_xml(
                osp.join(self.data_prefix['ann_path'], stem))
            data_list.append(self._item(stem, rel_path, label, boxes, shape))
        self._check_labels(data_list, self.list_file)
        return data_list
