# Copyright (c) mmwsss contributors. All rights reserved.
"""Semantic segmentation on pseudo-masks (the DeepLab stage of WSSS)."""
import os.path as osp
from typing import List, Optional, Sequence

from mmseg.datasets import BaseSegDataset
from PIL import Image

from mmwsss.fileio import read_label_map
from mmwsss.registry import DATASETS
# LoadPseudoLabel lived here; re-exported so that old imports keep working.
from .transforms.loading import LoadPseudoLabel, check_label_size
from .voc_wsss import VOC_CLASSES, VOC_PALETTE, meta_json_metainfo

# How many missing files a start-up error lists.
_MAX_LISTED = 5


@DATASETS.register_module()
class PseudoLabelSegDataset(BaseSegDataset):
    """Images of a VOC-layout dataset with labels from a pseudo-mask folder.

    The training set of the segmentation stage of weakly supervised semantic
    segmentation: the images of the source dataset (PASCAL VOC 2012 or
    SynthVOC) and, for each image id of ``ann_file``, the PNG
    ``<pseudo_mask_dir>/<id>.png`` written by a pseudo-label stage (IRN,
    AdvCAM, BBAM, ...). Without ``pseudo_mask_dir`` the labels come from
    ``data_prefix['seg_map_path']`` below ``data_root``, e.g. the real
    ``SegmentationClass`` for validation.

    Classes: VOC's 21 (``background`` + 20) by default, or ``background``
    followed by ``classes`` of ``<data_root>/meta.json`` when that file
    exists (SynthVOC), with its palette. Label indices are used as stored;
    renaming classes through ``metainfo`` is allowed, remapping is not.

    Checks: when built, the dataset raises ``FileNotFoundError`` listing the
    missing label files (an incomplete pseudo-mask folder is the usual
    failure and should not surface hours into training). With
    ``check_files=True`` it also decodes every label PNG and compares its
    size with the image header and its values with the classes (one decode
    per file before training). Use :class:`LoadPseudoLabel` in the
    pipeline to run the same checks on every load.

    Args:
        data_root (str): The VOC2012 (or SynthVOC) folder.
        ann_file (str): Split list (one image id per line), relative to
            ``data_root``, e.g. ``'ImageSets/Segmentation/train_aug.txt'``.
        pseudo_mask_dir (str, optional): Folder of the pseudo-masks, absolute
            or relative to the current directory (like ``work_dir`` and the
            writers' ``output_dir``, not to ``data_root``). It replaces
            ``data_prefix['seg_map_path']``. Defaults to None.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path`` folders
            relative to ``data_root``. Defaults to
            ``dict(img_path='JPEGImages', seg_map_path='SegmentationClass')``.
        check_files (bool): Validate the size and values of every label file
            when the dataset is built. Defaults to False.
        metainfo (dict, optional): Overrides of the classes/palette read from
            the source. Defaults to None.
        **kwargs: Other arguments of :class:`mmseg.datasets.BaseSegDataset`
            (``reduce_zero_label`` must stay False).
    """

    METAINFO = dict(
        classes=('background', ) + VOC_CLASSES, palette=VOC_PALETTE)

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 pseudo_mask_dir: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 check_files: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if not ann_file:
            raise ValueError('PseudoLabelSegDataset needs a split list '
                             '(ann_file)')
        if kwargs.get('reduce_zero_label'):
            raise ValueError('Pseudo-masks keep background at 0: '
                             'reduce_zero_label must be False')
        data_prefix = dict(
            data_prefix if data_prefix is not None else dict(
                img_path='JPEGImages', seg_map_path='SegmentationClass'))
        if pseudo_mask_dir is not None:
            data_prefix['seg_map_path'] = osp.abspath(pseudo_mask_dir)
        if not data_prefix.get('seg_map_path'):
            raise ValueError('Give pseudo_mask_dir or '
                             "data_prefix['seg_map_path']")
        self.check_files = check_files
        source = meta_json_metainfo(data_root, with_background=True)
        if metainfo is not None:
            source = dict(source or {}, **metainfo)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=source,
            **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> None:
        """Return None: label indices are used as stored (no remapping).

        BaseSegDataset remaps labels when ``classes`` differ from
        ``METAINFO``; here the classes come from the source dataset and the
        pseudo-masks already use their indices.
        """
        return None

    def load_data_list(self) -> List[dict]:
        """Read the split list and check the label files."""
        return self._check_label_files(super().load_data_list())

    def _check_label_files(self, data_list: List[dict]) -> List[dict]:
        """``data_list`` once its label files are found (and, with
        ``check_files``, valid)."""
        missing = [
            info['seg_map_path'] for info in data_list
            if not osp.isfile(info['seg_map_path'])
        ]
        if missing:
            listed = ', '.join(missing[:_MAX_LISTED])
            more = (f' and {len(missing) - _MAX_LISTED} more'
                    if len(missing) > _MAX_LISTED else '')
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} label maps of '
                f'{self.ann_file} are missing: {listed}{more}')
        if self.check_files:
            num_classes = len(self._metainfo['classes'])
            for info in data_list:
                label = read_label_map(info['seg_map_path'], num_classes - 1)
                if not osp.isfile(info['img_path']):
                    raise FileNotFoundError(
                        f'Image not found: {info["img_path"]}')
                with Image.open(info['img_path']) as img:
                    width, height = img.size
                check_label_size(info['seg_map_path'], label.shape,
                            info['img_path'], (height, width))
        return data_list
