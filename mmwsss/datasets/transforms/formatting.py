# Copyright (c) mmwsss contributors. All rights reserved.
"""Packing transforms for CAM classifiers."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample

from mmwsss.fileio import CAM_FIELDS
from mmwsss.registry import TRANSFORMS


def _to_chw_tensor(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackCAMInputs(BaseTransform):
    """Pack an image (or its multi-scale versions) and its labels.

    ``inputs`` is the CHW uint8 tensor of ``img``, or, when
    :class:`MultiScaleResize` ran, the list of per-scale tensors; it is left
    out when no image was loaded (a pipeline that only reads annotations,
    e.g. CAM files to score, as mmdet's and mmseg's packing transforms
    allow). The data sample is an mmpretrain :class:`DataSample` with
    ``gt_label`` (image-level labels) and, when loaded, ``gt_sem_seg`` (a
    :class:`PixelData` holding the segmentation ground truth, for seed
    evaluation) and the CAMs of :class:`mmwsss.LoadCAMFile` (``cam_keys``,
    ``cam_strided``, ... as tensors).

    Args:
        meta_keys (Sequence[str]): Meta information to keep.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_id', 'img_path',
                                             'ori_shape', 'img_shape',
                                             'flip', 'flip_direction',
                                             'cam_scales')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        packed = {}
        if 'ms_imgs' in results:
            packed['inputs'] = [
                _to_chw_tensor(img) for img in results['ms_imgs']
            ]
        elif 'img' in results:
            packed['inputs'] = _to_chw_tensor(results['img'])
        sample = DataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        if 'gt_seg_map' in results:
            sample.gt_sem_seg = PixelData(
                data=torch.from_numpy(results['gt_seg_map'][None].copy()))
        for field in CAM_FIELDS.values():
            if field in results:
                sample.set_field(torch.from_numpy(results[field]), field)
        sample.set_metainfo(
            {k: results[k]
             for k in self.meta_keys if k in results})
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
