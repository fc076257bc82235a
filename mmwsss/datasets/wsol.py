# Copyright (c) mmwsss contributors. All rights reserved.
"""Datasets for weakly supervised object localization (WSOL).

Every item holds ``img_path``, ``img_id``, ``gt_label`` (int) and, on
evaluation splits, ``gt_bboxes``: float32 (N, 4) boxes ``[x0, y0, x1, y1]``
in the pixel coordinates of the original image, exactly as written by the
annotation (the metric rescales them to the score-map size with
:func:`mmwsss.evaluation.functional.resize_box`, as wsolevaluation does).
Items with pixel masks also hold ``gt_mask_paths`` (list of instance mask
files) and ``ignore_mask_path`` (str or None), read by
:class:`mmwsss.LoadWSOLMask` for PxAP. Where the annotation states the image
size, ``ori_shape`` (h, w) is set too (image loading sets it anyway).
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from mmwsss.registry import DATASETS


def _read_rows(path: str,
               num_fields: int,
               sep: Optional[str] = None) -> List[Tuple[int, List[str]]]:
    """Split the non-empty lines of a text table into ``num_fields`` fields.

    With ``sep=None`` fields are separated by white space and the last field
    takes the rest of the line (CUB's ``<id> <path>`` files).

    Returns:
        list[tuple[int, list[str]]]: (1-based line number, fields) per line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation file not found: {path}')
    rows = []
    with open(path) as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip('\r\n')
            if not line.strip():
                continue
            if sep is None:
                fields = line.split(None, num_fields - 1)
            else:
                fields = [field.strip() for field in line.split(sep)]
            if len(fields) != num_fields:
                raise ValueError(f'{path}, line {line_no}: expected '
                                 f'{num_fields} fields, got {line!r}')
            rows.append((line_no, fields))
    return rows


def _convert(path: str, line_no: int, value: str, kind: Callable):
    """``kind(value)`` with an error that names the file and line."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f'{path}, line {line_no}: {value!r} is not a valid '
                         f'{kind.__name__}') from None


def _read_id_table(path: str, kind: Callable = str) -> Dict[int, object]:
    """Read a CUB ``<id> <value>`` file into ``{id: kind(value)}``."""
    table = {}
    for line_no, (key, value) in _read_rows(path, 2):
        key = _convert(path, line_no, key, int)
        if key in table:
            raise ValueError(f'{path}, line {line_no}: duplicate id {key}')
        table[key] = _convert(path, line_no, value.strip(), kind)
    return table


def _check_box(where: str, box: Sequence[float]) -> None:
    """Raise an error naming ``where`` unless ``box`` is a valid xyxy box."""
    if box[2] < box[0] or box[3] < box[1] or min(box) < 0:
        raise ValueError(f'{where}: invalid box {list(box)} (need '
                         '0 <= x0 <= x1 and 0 <= y0 <= y1)')


def _boxes_array(boxes: List[List[float]]) -> np.ndarray:
    """Boxes as a float32 (N, 4) array (also for N = 0)."""
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def _parse_voc_xml(path: str) -> Tuple[List[str], np.ndarray, tuple]:
    """Read a PASCAL-VOC-style XML annotation (ILSVRC boxes, Stanford Dogs).

    Returns:
        tuple[list[str], np.ndarray, tuple]: The ``name`` of every object,
        their float32 (N, 4) ``bndbox`` corners as written and the image
        (h, w) of ``size``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation not found: {path}')
    try:
        root = ET.parse(path).getroot()
        shape = tuple(
            int(root.findtext(f'size/{k}')) for k in ('height', 'width'))
        names, boxes = [], []
        for obj in root.iter('object'):
            names.append(obj.findtext('name', default='').strip())
            boxes.append([
                float(obj.findtext(f'bndbox/{k}'))
                for k in ('xmin', 'ymin', 'xmax', 'ymax')
            ])
    except (ET.ParseError, TypeError, ValueError) as e:
        raise ValueError(f'Bad annotation {path}: {e}') from e
    for box in boxes:
        _check_box(path, box)
    return names, _boxes_array(boxes), shape


class _WSOLDataset(BaseDataset):
    """Base of the single-label WSOL datasets.

    Holds what every layout shares: the ``split`` check, the metainfo derived
    from the annotation (which a user's ``metainfo`` overrides), the item
    fields, the label range check and ``get_cat_ids`` from ``gt_label``.

    Args:
        derived_metainfo (dict): Metainfo read from the annotation
            (``classes`` at least).
        metainfo (dict, optional): User metainfo, overriding the derived
            one. Defaults to None.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    #: The accepted ``split`` values of a layout with splits.
    SPLITS: Tuple[str, ...] = ('train', 'test')

    def __init__(self,
                 derived_metainfo: dict,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        super().__init__(
            metainfo={
                **derived_metainfo,
                **(metainfo or {})
            }, **kwargs)

    @classmethod
    def _check_split(cls, split: str) -> str:
        """Return ``split``, or raise an error listing ``SPLITS``."""
        if split not in cls.SPLITS:
            names = [repr(name) for name in cls.SPLITS]
            raise ValueError(f'split must be {", ".join(names[:-1])} or '
                             f'{names[-1]}, got {split!r}')
        return split

    def _item(self,
              img_id: str,
              file_name: str,
              gt_label: int,
              gt_bboxes: Optional[np.ndarray] = None,
              ori_shape: Optional[tuple] = None) -> dict:
        """One data item; ``file_name`` is relative to ``img_path``."""
        info = dict(
            img_id=img_id,
            img_path=osp.join(self.data_prefix['img_path'], file_name),
            gt_label=gt_label)
        if gt_bboxes is not None:
            info['gt_bboxes'] = gt_bboxes
        if ori_shape is not None:
            info['ori_shape'] = ori_shape
        return info

    def _check_labels(self, data_list: List[dict], source: str) -> None:
        """Raise an error naming ``source`` if a label is out of range."""
        num_classes = len(self.metainfo['classes'])
        for info in data_list:
            if not 0 <= info['gt_label'] < num_classes:
                raise ValueError(f'{source}: image {info["img_id"]} has label '
                                 f'{info["gt_label"]} outside the '
                                 f'{num_classes} classes of the dataset')

    def get_cat_ids(self, idx: int) -> List[int]:
        """Return the label of item ``idx`` as a one-element list."""
        return [self.get_data_info(idx)['gt_label']]


@DATASETS.register_module()
class CUBWSOLDataset(_WSOLDataset):
    """CUB-200-2011 in its official layout, with bounding boxes.

    Reads ``images.txt``, ``image_class_labels.txt``,
    ``train_test_split.txt``, ``bounding_boxes.txt`` and ``classes.txt``
    under ``data_root`` (all with 1-based ids). A CUB box ``<x> <y> <w> <h>``
    becomes ``[x, y, x + w, y + h]``, as in wsolevaluation's CUB metadata.
    The same layout is read from SynthVOC's ``wsol/`` folder (whose
    ``masks/`` give PxAP ground truth, see ``mask_dir``) and from subsets
    such as ``cub10`` that keep the original CUB ids.

    Classes: by default the class index is the CUB class id minus 1 and the
    classes are all those of ``classes.txt`` (200 for CUB, also for a subset,
    so a model keeps CUB's head size and label meaning). With
    ``remap_classes=True`` only the classes that have images in
    ``image_class_labels.txt`` (train and test together, so both splits agree)
    are kept, in increasing id order, and mapped to ``0..C-1``. The original
    ids are in ``metainfo['cub_class_ids']``.

    Args:
        data_root (str): The ``CUB_200_2011`` (or SynthVOC ``wsol``) folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'test'``.
        data_prefix (dict): ``img_path`` folder of the images. Defaults to
            ``dict(img_path='images')``.
        mask_dir (str, optional): Folder (relative to ``data_root``) of 0/255
            object masks named like the images with ``mask_suffix``; adds
            ``gt_mask_paths``. Defaults to None (no masks; CUB has none).
        mask_suffix (str): Defaults to ``'.png'``.
        remap_classes (bool): Keep only the classes with images, mapped to
            ``0..C-1``. Defaults to False.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.

    Examples:
        >>> from mmwsss.datasets import CUBWSOLDataset
        >>> test_set = CUBWSOLDataset('data/CUB_200_2011', split='test')
        >>> sorted(test_set[0])  # doctest: +SKIP
        ['gt_bboxes', 'gt_label', 'img_id', 'img_path', 'sample_idx']
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'test',
                 data_prefix: Optional[dict] = None,
                 mask_dir: Optional[str] = None,
                 mask_suffix: str = '.png',
                 remap_classes: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.split = self._check_split(split)
        self.mask_dir = mask_dir
        self.mask_suffix = mask_suffix
        self.remap_classes = remap_classes
        self._files = {
            name: osp.join(data_root, f'{name}.txt')
            for name in ('images', 'image_class_labels', 'train_test_split',
                         'bounding_boxes', 'classes')
        }
        self._class_index, derived = self._read_classes()
        super().__init__(
            derived,
            metainfo,
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path='images'),
            **kwargs)

    def _read_classes(self) -> Tuple[Dict[int, int], dict]:
        """Map CUB class ids to class indices; also return the metainfo."""
        path = self._files['classes']
        names = _read_id_table(path)
        if self.remap_classes:
            labels = _read_id_table(self._files['image_class_labels'], int)
            ids = sorted(set(labels.values()))
            unknown = [i for i in ids if i not in names]
            if unknown:
                raise ValueError(
                    f'{self._files["image_class_labels"]} uses class ids '
                    f'{unknown[:5]} that are not in {path}')
        else:
            ids = sorted(names)
            if ids != list(range(1, len(ids) + 1)):
                raise ValueError(f'{path}: class ids must be 1..K to be used '
                                 'as labels id - 1; set remap_classes=True '
                                 'for other ids')
        index = {class_id: i for i, class_id in enumerate(ids)}
        return index, dict(
            classes=tuple(names[i] for i in ids), cub_class_ids=tuple(ids))

    def load_data_list(self) -> List[dict]:
        """Join the CUB files into one item per image of the split."""
        files = self._files
        images = _read_id_table(files['images'])
        labels = _read_id_table(files['image_class_labels'], int)
        is_train = _read_id_table(files['train_test_split'], int)
        boxes = defaultdict(list)
        path = files['bounding_boxes']
        for line_no, fields in _read_rows(path, 5):
            image_id = _convert(path, line_no, fields[0], int)
            x, y, w, h = (
                _convert(path, line_no, v, float) for v in fields[1:])
            box = [x, y, x + w, y + h]
            _check_box(f'{path}, line {line_no}', box)
            boxes[image_id].append(box)
        tables = dict(
            image_class_labels=labels,
            train_test_split=is_train,
            bounding_boxes=boxes)
        for name, table in tables.items():
            missing = [i for i in images if i not in table]
            if missing:
                raise ValueError(f'{files[name]} has no entry for image ids '
                                 f'{missing[:5]} of {files["images"]}')
        data_list = []
        for image_id, rel_path in images.items():
            if is_train[image_id] not in (0, 1):
                raise ValueError(f'{files["train_test_split"]}: image id '
                                 f'{image_id} has split {is_train[image_id]}'
                                 ', expected 0 or 1')
            if bool(is_train[image_id]) != (self.split == 'train'):
                continue
            class_id = labels[image_id]
            if class_id not in self._class_index:
                raise ValueError(f'{files["image_class_labels"]}: image id '
                                 f'{image_id} has class id {class_id}, which '
                                 f'is not in {files["classes"]}')
            info = self._item(rel_path, rel_path, self._class_index[class_id],
                              _boxes_array(boxes[image_id]))
            if self.mask_dir is not None:
                stem = osp.splitext(rel_path)[0] + self.mask_suffix
                info['gt_mask_paths'] = [
                    osp.join(self.data_root, self.mask_dir, stem)
                ]
                info['ignore_mask_path'] = None
            data_list.append(info)
        self._check_labels(data_list, files['image_class_labels'])
        return data_list


@DATASETS.register_module()
class ImageNetWSOLDataset(_WSOLDataset):
    """ILSVRC 2012 validation images with their per-image XML boxes.

    Each ``<ann_path>/<image stem>.xml`` (PASCAL VOC style, as in
    ``ILSVRC2012_bbox_val_v3.tgz`` or Kaggle's
    ``Annotations/CLS-LOC/val``) gives the image size and every box of the
    image's class; boxes are taken as written (0-based pixel corners, as in
    wsolevaluation's ILSVRC metadata). The class is the object synset's
    position in the synset list (one ``<wnid> [description]`` per line, e.g.
    ``LOC_synset_mapping.txt``, whose order is the usual 0..999 labels).

    Args:
        data_root (str): The dataset folder.
        synset_file (str): Synset list, relative to ``data_root``. Defaults
            to ``'LOC_synset_mapping.txt'``.
        ann_file (str): Optional image list (first token of each line an
            image file name, e.g. mmpretrain's ``meta/val.txt``); empty means
            every XML file of ``ann_path``. Defaults to ``''``.
        data_prefix (dict): ``img_path`` and ``ann_path`` folders. Defaults
            to ``dict(img_path='val', ann_path='val_bbox')``.
        img_suffix (str): Defaults to ``'.JPEG'``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 synset_file: str = 'LOC_synset_mapping.txt',
                 ann_file: str = '',
                 data_prefix: Optional[dict] = None,
                 img_suffix: str = '.JPEG',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self.img_suffix = img_suffix
        self.synset_file = osp.join(data_root, synset_file)
        self._synset_index, derived = self._read_synsets(self.synset_file)
        super().__init__(
            derived,
            metainfo,
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix
            or dict(img_path='val', ann_path='val_bbox'),
            **kwargs)

    @staticmethod
    def _read_synsets(path: str) -> Tuple[Dict[str, int], dict]:
        """Map wnids to class indices; also return the metainfo."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'Synset list not found: {path}')
        wnids, names = [], []
        with open(path) as f:
            for line in f:
                if line.strip():
                    wnid, _, name = line.strip().partition(' ')
                    wnids.append(wnid)
                    names.append(name.strip() or wnid)
        if len(set(wnids)) != len(wnids):
            raise ValueError(f'{path} lists a synset twice')
        index = {wnid: i for i, wnid in enumerate(wnids)}
        return index, dict(classes=tuple(names), wnids=tuple(wnids))

    def _stems(self) -> List[str]:
        """Image stems from ``ann_file``, or of every XML of ``ann_path``."""
        if not self.ann_file:
            ann_dir = self.data_prefix['ann_path']
            if not osp.isdir(ann_dir):
                raise FileNotFoundError(
                    f'Annotation folder not found: {ann_dir}')
            return sorted(
                osp.splitext(name)[0] for name in os.listdir(ann_dir)
                if name.endswith('.xml'))
        return [
            osp.splitext(fields[0].split()[0])[0]
            for _, fields in _read_rows(self.ann_file, 1)
        ]

    def _parse_xml(self, path: str) -> Tuple[int, np.ndarray, tuple]:
        """Label, (N, 4) boxes and (h, w) of one XML annotation."""
        names, boxes, shape = _parse_voc_xml(path)
        unknown = [n for n in names if n not in self._synset_index]
        if unknown:
            raise ValueError(f'Bad annotation {path}: synset {unknown[0]!r} '
                             f'is not in {self.synset_file}')
        labels = {self._synset_index[n] for n in names}
        if len(labels) != 1:
            raise ValueError(f'Annotation {path} must have objects of exactly '
                             f'one synset, got {len(labels)}')
        return labels.pop(), boxes, shape

    def load_data_list(self) -> List[dict]:
        """Parse the XML annotation of every listed image."""
        data_list = []
        for stem in self._stems():
            label, boxes, shape = self._parse_xml(
                osp.join(self.data_prefix['ann_path'], stem + '.xml'))
            data_list.append(
                self._item(stem, stem + self.img_suffix, label, boxes, shape))
        self._check_labels(data_list, self.synset_file)
        return data_list


@DATASETS.register_module()
class WSOLMetadataDataset(_WSOLDataset):
    """A split in the metadata format of clovaai/wsolevaluation.

    The metadata folder (``ann_file``) holds comma-separated files keyed by
    the image path relative to the image root:

    - ``image_ids.txt``: one image path per line (the item order).
    - ``class_labels.txt``: ``path,label`` (0-based).
    - ``image_sizes.txt`` (optional, absent for OpenImages): ``path,w,h``;
      sets ``ori_shape``.
    - ``localization.txt`` (optional, absent on training splits), either
      CUB / ILSVRC boxes ``path,x0,y0,x1,y1`` (one line per box) or
      OpenImages masks ``path,mask_png,ignore_png`` (one line per instance;
      the ignore mask, given on one of the lines, may be empty). The format is
      detected from the number of fields and must not be mixed.

    Classes default to ``'0'..'K-1'`` with K = the largest label + 1; pass
    ``metainfo=dict(classes=...)`` for names.

    Args:
        data_root (str): Root of the images (and masks).
        ann_file (str): Metadata folder, e.g. ``'metadata/CUB/test'``,
            relative to ``data_root`` unless absolute.
        data_prefix (dict): ``img_path`` and ``mask_path`` folders that the
            paths of the metadata are relative to. Defaults to
            ``dict(img_path='', mask_path='')`` (``data_root`` itself).
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 data_prefix: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        meta_dir = ann_file if osp.isabs(ann_file) else osp.join(
            data_root, ann_file)
        self._labels = self._read_labels(
            osp.join(meta_dir, 'class_labels.txt'))
        num_classes = max(self._labels.values(), default=-1) + 1
        super().__init__(
            dict(classes=tuple(str(i) for i in range(num_classes))),
            metainfo,
            data_root=data_root,
            ann_file=ann_file,
            data_prefix={
                'img_path': '',
                'mask_path': '',
                **(data_prefix or {})
            },
            **kwargs)

    @staticmethod
    def _read_labels(path: str) -> Dict[str, int]:
        """Read ``class_labels.txt`` into ``{image: label}``."""
        labels = {}
        for line_no, (image_id, label) in _read_rows(path, 2, ','):
            if image_id in labels:
                raise ValueError(f'{path}, line {line_no}: duplicate image '
                                 f'{image_id}')
            labels[image_id] = _convert(path, line_no, label, int)
        return labels

    def _read_localization(self, path: str) -> Tuple[str, dict]:
        """Detect the localization format and read its entries.

        Returns:
            tuple[str, dict]: ``'box'`` and ``{image: [box, ...]}``, or
            ``'mask'`` and ``{image: (mask paths, ignore path or None)}``.
        """
        with open(path) as f:
            first = next((line for line in f if line.strip()), '')
        num_fields = len(first.split(','))
        if num_fields not in (3, 5):
            raise ValueError(f'{path}: lines must be path,x0,y0,x1,y1 (boxes) '
                             f'or path,mask,ignore (masks), got {first!r}')
        entries = defaultdict(list)
        ignores = {}
        for line_no, fields in _read_rows(path, num_fields, ','):
            image_id = fields[0]
            if num_fields == 5:
                box = [_convert(path, line_no, v, float) for v in fields[1:]]
                _check_box(f'{path}, line {line_no}', box)
                entries[image_id].append(box)
                continue
            entries[image_id].append(
                osp.join(self.data_prefix['mask_path'], fields[1]))
            if fields[2]:
                if image_id in ignores:
                    raise ValueError(f'{path}, line {line_no}: second ignore '
                                     f'mask for {image_id}')
                ignores[image_id] = osp.join(self.data_prefix['mask_path'],
                                             fields[2])
        if num_fields == 5:
            return 'box', entries
        return 'mask', {k: (v, ignores.get(k)) for k, v in entries.items()}

    def load_data_list(self) -> List[dict]:
        """Join the metadata files into one item per image id."""
        meta_dir = self.ann_file
        ids_file = osp.join(meta_dir, 'image_ids.txt')
        image_ids = [fields[0] for _, fields in _read_rows(ids_file, 1, ',')]
        if len(set(image_ids)) != len(image_ids):
            raise ValueError(f'{ids_file} lists an image twice')
        tables = {'class_labels.txt': self._labels}
        sizes = {}
        sizes_file = osp.join(meta_dir, 'image_sizes.txt')
        if osp.isfile(sizes_file):
            for line_no, (image_id, w, h) in _read_rows(sizes_file, 3, ','):
                sizes[image_id] = (_convert(sizes_file, line_no, h, int),
                                   _convert(sizes_file, line_no, w, int))
            tables['image_sizes.txt'] = sizes
        loc_format, loc = None, {}
        loc_file = osp.join(meta_dir, 'localization.txt')
        if osp.isfile(loc_file):
            loc_format, loc = self._read_localization(loc_file)
            tables['localization.txt'] = loc
        data_list = []
        for image_id in image_ids:
            for name, table in tables.items():
                if image_id not in table:
                    raise ValueError(f'{osp.join(meta_dir, name)} has no '
                                     f'entry for image {image_id}')
            info = self._item(
                image_id,
                image_id,
                self._labels[image_id],
                ori_shape=sizes.get(image_id))
            if loc_format == 'box':
                info['gt_bboxes'] = _boxes_array(loc[image_id])
            elif loc_format == 'mask':
                info['gt_mask_paths'], info['ignore_mask_path'] = \
                    loc[image_id]
            data_list.append(info)
        self._check_labels(data_list, osp.join(meta_dir, 'class_labels.txt'))
        return data_list
