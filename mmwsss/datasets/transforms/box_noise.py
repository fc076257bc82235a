# Copyright (c) mmwsss contributors. All rights reserved.
"""Noisy box labels: the ground-truth boxes jittered, seeded per image."""
import os.path as osp
import zlib

import numpy as np
from mmcv.transforms import BaseTransform

from mmwsss.registry import TRANSFORMS
from mmwsss.utils import to_numpy

# Direction of each coordinate [x0, y0, x1, y1] when a box grows.
_OUTWARD = np.array([-1.0, -1.0, 1.0, 1.0])


@TRANSFORMS.register_module()
class JitterBoxes(BaseTransform):
    """Move every coordinate of the ground-truth boxes by a random fraction.

    Simulates inaccurate box annotations (BBAM's robustness study,
    dissertation Fig. 5.7a, extending Hsu et al.'s up to +-15 % to +-20 %).
    Each coordinate moves by ``d`` times the box width (x) or height (y),
    ``d`` drawn from ``U(-ratio, ratio)`` (``mode='random'``), or from
    ``U(0, ratio)`` outwards (``'expand'``) or inwards (``'shrink'``). The
    boxes are then clipped to the image and their coordinates ordered.

    The draws come from a generator seeded by ``seed`` and the image's file
    name (or ``img_id``), so every stage that loads an image (the detector's
    training and BBAM) sees the same noisy boxes, whatever the order of the
    images, the number of workers or the augmentation. Put it right after
    ``LoadAnnotations``, in the original image frame, in every pipeline that
    should see the noisy labels.

    Required keys: ``gt_bboxes``, ``img_shape``, ``img_path`` or ``img_id``.
    Modified keys: ``gt_bboxes``.

    Args:
        ratio (float): Largest move as a fraction of the box side, in
            [0, 1) (0.5 or more would let ``'shrink'`` invert a box).
        mode (str): ``'random'``, ``'expand'`` or ``'shrink'``.
            Defaults to ``'random'``.
        seed (int): Base seed. Defaults to 0.
    """

    MODES = ('random', 'expand', 'shrink')

    def __init__(self, ratio: float, mode: str = 'random', seed: int = 0):
        if not 0 <= ratio < 1:
            raise ValueError(f'ratio must be in [0, 1), got {ratio}')
        if mode not in self.MODES:
            raise ValueError(
                f'mode must be one of {self.MODES}, got {mode!r}')
        if mode == 'shrink' and ratio >= 0.5:
            raise ValueError('mode="shrink" needs ratio < 0.5 (two sides '
                             f'moving inwards), got {ratio}')
        self.ratio = ratio
        self.mode = mode
        self.seed = seed

    def _generator(self, results: dict) -> np.random.Generator:
        path = results.get('img_path')
        name = (
            osp.splitext(osp.basename(path))[0]
            if path else str(results.get('img_id')))
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def jitter(self, boxes: np.ndarray, image_hw, rng) -> np.ndarray:
        """(N, 4) float boxes ``[x0, y0, x1, y1]`` moved and clipped."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        size = boxes[:, 2:] - boxes[:, :2]
        scale = np.concatenate([size, size], axis=1)
        if self.mode == 'random':
            draws = rng.uniform(-self.ratio, self.ratio, boxes.shape)
        else:
            sign = _OUTWARD if self.mode == 'expand' else -_OUTWARD
            draws = sign * rng.uniform(0, self.ratio, boxes.shape)
        moved = boxes + draws * scale
        height, width = image_hw
        moved[:, 0::2] = moved[:, 0::2].clip(0, width)
        moved[:, 1::2] = moved[:, 1::2].clip(0, height)
        x0, x1 = np.sort(moved[:, 0::2], axis=1).T
        y0, y1 = np.sort(moved[:, 1::2], axis=1).T
        return np.stack([x0, y0, x1, y1], axis=1)

    def transform(self, results: dict) -> dict:
        """Replace ``gt_bboxes`` by their jittered copies."""
        boxes = results['gt_bboxes']
        values = to_numpy(getattr(boxes, 'tensor', boxes))
        jittered = self.jitter(values, results['img_shape'][:2],
                               self._generator(results))
        jittered = jittered.astype(values.dtype)
        if hasattr(boxes, 'tensor'):
            results['gt_bboxes'] = type(boxes)(jittered)
        else:
            results['gt_bboxes'] = jittered
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(ratio={self.ratio}, '
                f'mode={self.mode!r}, seed={self.seed})')
