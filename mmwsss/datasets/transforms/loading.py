# Copyright (c) mmwsss contributors. All rights reserved.
"""Loading transforms."""
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from mmwsss.registry import TRANSFORMS
from ..voc_wsss import read_label_map


@TRANSFORMS.register_module()
class LoadImageRGB(BaseTransform):
    """Load an image as uint8 RGB with PIL, as the IRN-family references do.

    Unlike mmcv's ``LoadImageFromFile`` (OpenCV, BGR), this keeps the colour
    order of the reference code so PIL resizes see the same data. An
    unreadable file raises an error that names it.

    Added keys: ``img`` (H, W, 3) uint8 RGB, ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'Image not found: {path}')
        try:
            with Image.open(path) as img:
                img = np.asarray(img.convert('RGB'))
        except Exception as e:  # PIL raises several unrelated types
            raise ValueError(f'Cannot read image {path}: {e}') from e
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadLabelMap(BaseTransform):
    """Load the segmentation ground truth (``seg_map_path``) as ``gt_seg_map``.

    Values must be ``0..num_classes`` or 255; otherwise a ``ValueError`` names
    the file and the offending values.

    Args:
        num_classes (int): Number of foreground classes.
    """

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        results['gt_seg_map'] = read_label_map(results['seg_map_path'],
                                               self.num_classes)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_classes={self.num_classes})'
