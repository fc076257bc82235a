# Copyright (c) mmwsss contributors. All rights reserved.
"""PASCAL VOC 2012 (+ SBD ``train_aug``) for image-level supervision."""
import json
import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset

from mmwsss.fileio.label_map import read_label_map, voc_palette
from mmwsss.fileio.naming import check_name
from mmwsss.registry import DATASETS

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse',
               'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')

# The colours of VOC's label PNGs, background first.
VOC_PALETTE = voc_palette(len(VOC_CLASSES) + 1).tolist()


def labels_from_xml(path: str, classes: Sequence[str]) -> List[int]:
    """Image-level labels from a VOC XML: every object name, difficult ones
    included.

    Args:
        path (str): The XML annotation file.
        classes (Sequence[str]): Foreground class names.

    Returns:
        list[int]: Sorted 0-based class indices present in the image.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Annotation not found: {path}')
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ValueError(f'Cannot parse annotation {path}: {e}') from e
    index = {name: i for i, name in enumerate(classes)}
    labels = set()
    for obj in root.iter('object'):
        name = obj.findtext('name', default='').strip()
        if name not in index:
            raise ValueError(f'Annotation {path} has an object of unknown '
                             f'class "{name}"')
        labels.add(index[name])
    return sorted(labels)


def read_split_ids(ann_file: str) -> List[str]:
    """The image ids of a split list: the first word of each non-empty line.

    Args:
        ann_file (str): Path of the list.

    Returns:
        list[str]: The ids, in file order.

    Raises:
        FileNotFoundError: If the list does not exist.
        UnsafeNameError: If an id would name files outside their folders
            (:func:`mmwsss.fileio.check_name`).
        ValueError: If an id is listed twice (its outputs would collide and
            it would weigh double in every score).
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'Split list not found: {ann_file}')
    ids, first_line = [], {}
    with open(ann_file) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            img_id = check_name(line.split()[0],
                                f'{ann_file}, line {line_no}')
            if img_id in first_line:
                raise ValueError(f'{ann_file}:{line_no}: id {img_id!r} is '
                                 f'already listed on line '
                                 f'{first_line[img_id]}')
            first_line[img_id] = line_no
            ids.append(img_id)
    return ids


def meta_json_metainfo(data_root: str,
                       with_background: bool = False) -> Optional[dict]:
    """The metainfo of a generated dataset's ``<data_root>/meta.json``.

    ``meta.json`` lists the foreground classes; its palette includes the
    background colour.

    Args:
        data_root (str): Root folder of the dataset.
        with_background (bool): Put ``'background'`` before the classes
            (datasets of segmentation labels). Defaults to False.

    Returns:
        dict, optional: ``classes`` and ``palette``; None where
        ``data_root`` has no ``meta.json``.
    """
    meta_file = osp.join(data_root, 'meta.json')
    if not osp.isfile(meta_file):
        return None
    with open(meta_file) as f:
        meta = json.load(f)
    background = ('background', ) if with_background else ()
    return dict(
        classes=background + tuple(meta['classes']), palette=meta['palette'])


@DATASETS.register_module()
class VOCWSSSDataset(BaseDataset):
    """PASCAL VOC 2012 with image-level labels for weakly supervised
    semantic segmentation (also reads SynthVOC, which has the same layout).

    Each item holds the image path, its image-level labels ``gt_label``
    (0-based foreground indices) and, when ``seg_map_path`` is given in
    ``data_prefix``, the path of its segmentation ground truth for seed
    evaluation (``seg_map_path``).

    Image-level labels come from (``label_source``):

    - ``'xml'``: every ``<object>`` name of ``Annotations/<id>.xml``,
      difficult objects included.
    - ``'seg'``: the classes present in the segmentation map
      (``SegmentationClassAug`` for SBD ``train_aug``), as WSSS papers built
      their ``cls_labels``; it reads every label map once at start-up.

    The split list (``ann_file``) holds one image id per line, e.g.
    ``ImageSets/Segmentation/train_aug.txt``. Class names and palette default
    to VOC's 20 classes, or to those in ``<data_root>/meta.json`` when it
    exists (SynthVOC).

    Args:
        data_root (str): The VOC2012 (or SynthVOC) folder.
        ann_file (str): Split list relative to ``data_root``.
        data_prefix (dict): ``img_path``, optional ``seg_map_path`` and
            ``ann_path`` folders relative to ``data_root``. Defaults to
            ``dict(img_path='JPEGImages', seg_map_path='SegmentationClass',
            ann_path='Annotations')``.
        label_source (str): ``'xml'`` or ``'seg'``. Defaults to ``'xml'``.
        img_suffix (str): Defaults to ``'.jpg'``.
        seg_map_suffix (str): Defaults to ``'.png'``.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 data_prefix: Optional[dict] = None,
                 label_source: str = 'xml',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if label_source not in ('xml', 'seg'):
            raise ValueError(
                f"label_source must be 'xml' or 'seg', got {label_source!r}")
        if data_prefix is None:
            data_prefix = dict(
                img_path='JPEGImages',
                seg_map_path='SegmentationClass',
                ann_path='Annotations')
        needed = 'ann_path' if label_source == 'xml' else 'seg_map_path'
        if not data_prefix.get(needed):
            raise ValueError(f"label_source='{label_source}' needs "
                             f"data_prefix['{needed}']")
        self.label_source = label_source
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        if metainfo is None:
            metainfo = meta_json_metainfo(data_root)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the split list and the image-level labels."""
        ids = read_split_ids(self.ann_file)
        classes = self.metainfo['classes']
        img_dir = self.data_prefix['img_path']
        seg_dir = self.data_prefix.get('seg_map_path')
        ann_dir = self.data_prefix.get('ann_path')
        data_list = []
        for img_id in ids:
            info = dict(
                img_id=img_id,
                img_path=osp.join(img_dir, img_id + self.img_suffix))
            if seg_dir:
                info['seg_map_path'] = osp.join(seg_dir,
                                                img_id + self.seg_map_suffix)
            if self.label_source == 'xml':
                labels = labels_from_xml(
                    osp.join(ann_dir, img_id + '.xml'), classes)
            else:
                label_map = read_label_map(info['seg_map_path'], len(classes))
                present = np.unique(label_map)
                labels = [int(v) - 1 for v in present if 0 < v < 255]
            if not labels:
                raise ValueError(
                    f'Image {img_id} ({info["img_path"]}) has an empty label '
                    f'set in its {self.label_source} annotation; image-level '
                    'supervision needs at least one foreground class')
            info['gt_label'] = labels
            data_list.append(info)
        return data_list

    def get_cat_ids(self, idx: int) -> List[int]:
        """Return the image-level labels of item ``idx``."""
        return self.get_data_info(idx)['gt_label']
