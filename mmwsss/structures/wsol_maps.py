# Copyright (c) mmwsss contributors. All rights reserved.
"""WSOL score maps and PxAP ground-truth masks, as the protocol of
clovaai/wsolevaluation (Choe et al.) defines them.

Models make the score maps and datasets the masks that
:mod:`mmwsss.evaluation.functional.wsol` scores, so they live here, below
all three.
"""
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch

from mmwsss.utils.tensor import to_numpy

ArrayLike = Union[np.ndarray, torch.Tensor]


def normalize_scoremap(cam: ArrayLike,
                       size: Sequence[int] = (224, 224),
                       percentile: Optional[float] = None) -> np.ndarray:
    """Resize a CAM to the evaluation size and normalise it to [0, 1].

    The CAM is cast to float64 and resized with bicubic interpolation. A map
    with a NaN or a constant map becomes all zeros. Otherwise the protocol
    (wsolevaluation) subtracts the min and divides by the new max, so the
    range is exactly [0, 1]. MoANA instead subtracts the ``percentile``-th
    percentile (linear interpolation; MoANA uses 65), divides by the new max
    and clips to [0, 1]; its numbers are therefore not comparable with
    min-max ones. Where that max is 0 (the percentile equals the maximum),
    MoANA divides by zero; zeros are returned instead.

    Args:
        cam (np.ndarray | torch.Tensor): (h, w) class activation map.
        size (Sequence[int]): Output size (H, W). Defaults to (224, 224).
        percentile (float, optional): Subtract this percentile instead of
            the min (MoANA's variant). Defaults to None (min-max).

    Returns:
        np.ndarray: float64 (H, W) score map in [0, 1].
    """
    cam = to_numpy(cam).astype(np.float64)
    cam = cv2.resize(
        cam, (int(size[1]), int(size[0])), interpolation=cv2.INTER_CUBIC)
    if np.isnan(cam).any() or cam.min() == cam.max():
        return np.zeros_like(cam)
    if percentile is None:
        cam -= cam.min()
        return cam / cam.max()
    cam -= np.percentile(cam, percentile)
    if cam.max() <= 0:
        return np.zeros_like(cam)
    return np.clip(cam / cam.max(), 0, 1)


def pxap_gt_mask(instance_masks: Sequence[ArrayLike],
                 ignore_mask: Optional[ArrayLike] = None,
                 size: Sequence[int] = (224, 224)) -> np.ndarray:
    """Build the PxAP ground truth of one image (OpenImages protocol).

    Each mask is resized with nearest-neighbour interpolation and binarised
    with ``> 0.5`` (so 0/1 and 0/255 masks both work). Foreground is the OR
    of the instances; ignored pixels are those of the ignore mask that are
    not foreground.

    Args:
        instance_masks (Sequence[np.ndarray | torch.Tensor]): (h, w) masks,
            one per instance (may be empty).
        ignore_mask (np.ndarray | torch.Tensor, optional): (h, w) mask of the
            ignore boxes. Defaults to None (nothing ignored).
        size (Sequence[int]): Output size (H, W). Defaults to (224, 224).

    Returns:
        np.ndarray: uint8 (H, W) mask, 1 = object, 0 = background,
        255 = ignored.
    """

    def binarize(mask: ArrayLike) -> np.ndarray:
        mask = cv2.resize(
            to_numpy(mask).astype(np.float32), (int(size[1]), int(size[0])),
            interpolation=cv2.INTER_NEAREST)
        return mask > 0.5

    foreground = np.zeros(tuple(int(s) for s in size), dtype=bool)
    for mask in instance_masks:
        foreground |= binarize(mask)
    gt = foreground.astype(np.uint8)
    if ignore_mask is not None:
        gt[binarize(ignore_mask) & ~foreground] = 255
    return gt
