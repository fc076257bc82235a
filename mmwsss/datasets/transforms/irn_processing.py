# Copyright (c) mmwsss contributors. All rights reserved.
"""Transforms of the IRNet training pipeline (IRN ``VOC12AffinityDataset``)."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmwsss.models.utils.cam import scaled_size
from mmwsss.registry import TRANSFORMS
from .processing import PILRandomResize, SquareCropPad, pil_resize


@TRANSFORMS.register_module()
class RandomRescale(PILRandomResize):
    """Rescale the image and its label by a random factor (PIL).

    The factor is drawn uniformly from ``scale_range``; the new size is
    ``np.round(side * factor)``; the image is resized with
    ``interpolation`` and ``gt_seg_map`` with nearest neighbour, as IRN's
    ``random_scale`` (0.5..1.5, bicubic).

    Args:
        scale_range (tuple[float, float]): Range of the factor.
            Defaults to (0.5, 1.5).
        interpolation (str): ``'bicubic'``, ``'bilinear'`` or ``'nearest'``.
            Defaults to ``'bicubic'``.
    """

    def __init__(self,
                 scale_range: Tuple[float, float] = (0.5, 1.5),
                 interpolation: str = 'bicubic'):
        super().__init__(interpolation)
        if not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f'Invalid scale_range {scale_range}')
        self.scale_range = tuple(scale_range)

    @cache_randomness
    def _draw_scale(self) -> float:
        return float(np.random.uniform(*self.scale_range))

    def _draw_size(self, h: int, w: int) -> Tuple[int, int]:
        return scaled_size((h, w), self._draw_scale())

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale_range={self.scale_range}, '
                f'interpolation={self.interpolation})')


@TRANSFORMS.register_module()
class DownsampleLabel(BaseTransform):
    """Reduce ``gt_seg_map`` to the network's output grid (PIL nearest).

    IRNet's losses live on the stride-4 grid: the reference reduces the
    512 x 512 label crop to 128 x 128 with PIL nearest-neighbour
    (size ``np.round(side * scale)``). The image is left untouched.

    Args:
        scale (float): Factor. Defaults to 0.25.
    """

    def __init__(self, scale: float = 0.25):
        if scale <= 0:
            raise ValueError(f'scale must be positive, got {scale}')
        self.scale = scale

    def transform(self, results: dict) -> dict:
        label = results['gt_seg_map']
        results['gt_seg_map'] = pil_resize(
            label, scaled_size(label.shape, self.scale), 'nearest')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'


@TRANSFORMS.register_module()
class TopLeftCropPad(SquareCropPad):
    """Square crop anchored at the top-left corner, padded bottom/right.

    The reference's ``top_left_crop`` (used to estimate IRNet's displacement
    mean): the first ``crop_size`` rows and columns, with ``pad_val``
    (``seg_pad_val`` for ``gt_seg_map``) where the image is smaller. The
    reference pads with 0 after normalisation, i.e. the mean colour.

    Args:
        crop_size (int): Side of the crop.
        pad_val (Sequence[float] | float): Image fill value. Defaults to 0.
        seg_pad_val (int): Label fill value. Defaults to 255.
    """

    def _offsets(self, h: int, w: int) -> Tuple[int, int, int, int]:
        return 0, 0, 0, 0
