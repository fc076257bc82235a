# Copyright (c) mmwsss contributors. All rights reserved.
"""Unlabelled out-of-distribution images (W-OoD)."""
import os.path as osp
from typing import List, Optional

from mmengine.dataset import BaseDataset

from mmwsss.registry import DATASETS


@DATASETS.register_module()
class OoDImageDataset(BaseDataset):
    """A list of out-of-distribution images, without labels.

    The images contain none of the foreground classes (e.g. W-OoD's hard
    OoD set from OpenImages, or SynthVOC's habitat-only ``OoD/`` images), so
    a classifier's target for each of them is the all-zero vector. Items hold
    only ``img_path``, ``img_id`` and an empty ``gt_label``.

    The list file (``ann_file``, e.g. W-OoD's or SynthVOC's ``ood_list.txt``)
    has one image path per line relative to ``data_root`` joined with
    ``data_prefix['img_path']``; surrounding whitespace and empty lines are
    ignored, as the reference strips each line.

    Args:
        data_root (str): Root folder of the OoD images.
        ann_file (str): The image list, relative to ``data_root``.
        data_prefix (dict, optional): ``img_path``: folder of the listed
            paths, relative to ``data_root``. Defaults to
            ``dict(img_path='')``.
        metainfo (dict, optional): Usually the in-distribution class names
            (``classes``), for bookkeeping only. Defaults to None.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 data_prefix: Optional[dict] = None,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path=''),
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the image list."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'OoD image list not found: '
                                    f'{self.ann_file}')
        with open(self.ann_file) as f:
            paths = [line.strip() for line in f if line.strip()]
        if not paths:
            raise ValueError(f'OoD image list {self.ann_file} is empty')
        prefix = self.data_prefix.get('img_path', '')
        return [
            dict(
                img_path=osp.join(prefix, path),
                img_id=osp.splitext(osp.basename(path))[0],
                gt_label=[]) for path in paths
        ]
