# Copyright (c) mmwsss contributors. All rights reserved.
"""Transforms that carry WSOL ground truth (boxes, masks) to the metric."""
import os.path as osp
from typing import Sequence, Tuple

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmwsss.registry import TRANSFORMS
from mmwsss.structures import pxap_gt_mask
from .formatting import PackCAMInputs
from .processing import pil_resize


@TRANSFORMS.register_module()
class WSOLResize(BaseTransform):
    """Resize the whole image to a fixed size, ignoring its aspect ratio.

    The wsolevaluation test transform (torchvision ``Resize((224, 224))`` on
    a PIL image, i.e. PIL bilinear). Only the image changes: ``gt_bboxes``
    stay in original-image coordinates and :class:`mmwsss.WSOLMetric`
    rescales them with ``resize_box`` (truncation), as the protocol does.
    Use this rather than mmcv's ``Resize``, which would rescale
    ``gt_bboxes`` (without truncation) a first time.

    Added / modified keys: ``img``, ``img_shape``, ``scale_factor`` (w, h).

    Args:
        size (tuple[int, int]): Output (h, w). Defaults to (224, 224).
        interpolation (str): PIL interpolation, ``'bilinear'``,
            ``'bicubic'`` or ``'nearest'``. Defaults to ``'bilinear'``.
    """

    def __init__(self,
                 size: Tuple[int, int] = (224, 224),
                 interpolation: str = 'bilinear'):
        if interpolation not in ('bilinear', 'bicubic', 'nearest'):
            raise ValueError(f'Unknown interpolation {interpolation!r}')
        self.size = (int(size[0]), int(size[1]))
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        results['img'] = pil_resize(img, self.size, self.interpolation)
        results['img_shape'] = self.size
        results['scale_factor'] = (self.size[1] / w, self.size[0] / h)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'interpolation={self.interpolation!r})')


@TRANSFORMS.register_module()
class LoadWSOLMask(BaseTransform):
    """Build the PxAP ground truth of an image from its mask files.

    Reads every ``gt_mask_paths`` file and the optional ``ignore_mask_path``
    as grayscale (OpenCV, as wsolevaluation) and combines them with
    :func:`mmwsss.functional.pxap_gt_mask` at ``size``, which must
    be the score-map size of the model.

    Added key: ``gt_mask`` uint8 (h, w): 1 object, 0 background, 255 ignored.

    Args:
        size (tuple[int, int]): Mask size (h, w). Defaults to (224, 224).
    """

    def __init__(self, size: Tuple[int, int] = (224, 224)):
        self.size = (int(size[0]), int(size[1]))

    @staticmethod
    def _read(path: str) -> np.ndarray:
        if not osp.isfile(path):
            raise FileNotFoundError(f'Mask not found: {path}')
        mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise ValueError(f'Cannot read mask {path}')
        return mask

    def transform(self, results: dict) -> dict:
        masks = [self._read(path) for path in results['gt_mask_paths']]
        ignore = results.get('ignore_mask_path')
        results['gt_mask'] = pxap_gt_mask(
            masks, None if ignore is None else self._read(ignore), self.size)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size})'


@TRANSFORMS.register_module()
class PackWSOLInputs(PackCAMInputs):
    """Pack an image with its WSOL ground truth.

    As :class:`PackCAMInputs` (``inputs`` and a :class:`DataSample` with
    ``gt_label``), plus the data fields read by :class:`mmwsss.WSOLMetric`:
    ``gt_bboxes`` (float32 (N, 4) xyxy boxes in original-image coordinates)
    and, when :class:`LoadWSOLMask` ran, ``gt_mask`` (uint8 (h, w)). The
    metainfo keeps ``ori_shape`` (needed to rescale the boxes). Meant for
    evaluation pipelines (:class:`WSOLResize` only); training pipelines need
    no boxes and should pack with :class:`PackCAMInputs`, since mmcv's
    geometric transforms would move ``gt_bboxes``.

    Args:
        meta_keys (Sequence[str]): Meta information to keep. Defaults to
            ``('img_id', 'img_path', 'ori_shape', 'img_shape',
            'scale_factor')``.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('img_id', 'img_path', 'ori_shape',
                                             'img_shape', 'scale_factor')):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        sample = packed['data_samples']
        if 'gt_bboxes' in results:
            sample.gt_bboxes = torch.as_tensor(
                np.asarray(results['gt_bboxes'],
                           dtype=np.float32).reshape(-1, 4))
        if 'gt_mask' in results:
            sample.gt_mask = torch.from_numpy(
                np.ascontiguousarray(results['gt_mask']))
        return packed
