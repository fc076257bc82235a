# Copyright (c) mmwsss contributors. All rights reserved.
"""Multi-scale CAM merging of the IRN family (``step/make_cam.py``)."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

ArrayLike = Union[np.ndarray, torch.Tensor]


def scaled_size(size_hw: Sequence[int], scale: float) -> Tuple[int, int]:
    """Size of an image rescaled by ``scale`` as in the IRN inference.

    The reference resizes with PIL to ``np.round(side * scale)``, i.e. with
    round-half-to-even (e.g. 375 * 0.5 -> 188, 333 * 0.5 -> 166).

    Args:
        size_hw (Sequence[int]): Original image size (H, W).
        scale (float): Scale factor.

    Returns:
        tuple[int, int]: The rescaled size (h, w).
    """
    h, w = np.round(np.asarray(size_hw, dtype=np.float64) * scale)
    return int(h), int(w)


def strided_size(size_hw: Sequence[int], stride: int = 4) -> Tuple[int, int]:
    """Size of a feature map of stride ``stride``: ``(side - 1) // s + 1``.

    Args:
        size_hw (Sequence[int]): Image size (H, W).
        stride (int): Output stride. Defaults to 4.

    Returns:
        tuple[int, int]: ``(ceil(H / stride), ceil(W / stride))``.
    """
    h, w = size_hw
    return (int(h) - 1) // stride + 1, (int(w) - 1) // stride + 1


def per_image_scales(inputs: Sequence[Sequence[torch.Tensor]],
                     data_samples: Sequence) -> List[List[torch.Tensor]]:
    """Multi-scale inputs arranged ``[image][scale]``.

    A loader's ``pseudo_collate`` turns items whose ``inputs`` are per-scale
    lists into ``inputs[scale][image]``, while direct callers pass
    ``[image][scale]``. The layout whose outer length is the number of
    samples is taken; when both are (as many scales as images) or the
    samples carry ``cam_scales``, the sizes decide and must agree: scale
    ``s`` of image ``n`` is ``scaled_size(ori_shape_n, cam_scales_n[s])``
    (:class:`mmwsss.MultiScaleResize`).

    Args:
        inputs (Sequence[Sequence[Tensor]]): Nested (C, h, w) images.
        data_samples (Sequence): Samples with ``ori_shape`` and, from the
            CAM pipelines, ``cam_scales`` in their metainfo.

    Returns:
        list[list[Tensor]]: ``inputs[image][scale]``.

    Raises:
        ValueError: If no layout fits the samples.
    """
    candidates = []
    if len(inputs) == len(data_samples):
        candidates.append([list(images) for images in inputs])
    if len({len(images) for images in inputs}) == 1 and \
            len(inputs[0]) == len(data_samples):
        candidates.append([list(images) for images in zip(*inputs)])
    have_scales = all('cam_scales' in sample.metainfo
                      for sample in data_samples)

    def sizes_match(layout: List[List[torch.Tensor]]) -> bool:
        for images, sample in zip(layout, data_samples):
            factors = sample.metainfo['cam_scales']
            if len(factors) != len(images) or any(
                    tuple(img.shape[-2:]) != scaled_size(
                        sample.metainfo['ori_shape'], factor)
                    for img, factor in zip(images, factors)):
                return False
        return True

    if have_scales:
        candidates = [c for c in candidates if sizes_match(c)]
    if len(inputs) == len(inputs[0]) == 1:
        candidates = candidates[:1]  # one image at one scale: no ambiguity
    if len(candidates) != 1:
        raise ValueError(
            'Cannot arrange the multi-scale inputs per image: they do not '
            'match the samples\' ori_shape and cam_scales (expected '
            'MultiScaleResize + PackCAMInputs)')
    return candidates[0]


def _max_normalize(cams: torch.Tensor) -> torch.Tensor:
    """Divide every class map by its own spatial max + 1e-5."""
    return cams / (cams.amax(dim=(1, 2), keepdim=True) + 1e-5)


def merge_multiscale_cams(
    raw_maps: Sequence[ArrayLike],
    image_size: Sequence[int],
    keys: Optional[ArrayLike] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """Merge multi-scale, flipped raw class maps into IRN's two CAMs.

    Per scale, the CAM is ``ReLU(raw[0]) + hflip(ReLU(raw[1]))`` (a sum, not a
    mean). The "strided" CAM is the sum over scales of the per-scale CAMs
    resized (bilinear, ``align_corners=False``) to the stride-4 size
    ``((H - 1) // 4 + 1, (W - 1) // 4 + 1)``. The "high-res" CAM is the same
    sum at the size rounded up to a multiple of 16, cropped to
    ``[:H, :W]`` afterwards (not resized to (H, W) directly). Each kept class
    map of either CAM is then divided by its own max + 1e-5.

    Args:
        raw_maps (Sequence[np.ndarray | torch.Tensor]): One (2, C, h_s, w_s)
            array per scale: the raw classifier maps (before ReLU) of the
            image and of its horizontal flip.
        image_size (Sequence[int]): Original image size (H, W).
        keys (np.ndarray | torch.Tensor, optional): Indices of the classes to
            keep, in output order. Defaults to None (all C classes).

    Returns:
        tuple[torch.Tensor, torch.Tensor]: float32 ``strided`` CAMs
        (K, (H-1)//4+1, (W-1)//4+1) and ``high_res`` CAMs (K, H, W).
    """
    if len(raw_maps) == 0:
        raise ValueError('raw_maps must hold at least one scale')
    height, width = (int(s) for s in image_size)
    small_size = strided_size((height, width), 4)
    up_size = tuple(s * 16 for s in strided_size((height, width), 16))
    if keys is not None:
        keys = torch.as_tensor(keys, dtype=torch.long).reshape(-1)
        if keys.numel() == 0:
            # Nothing to keep (and interpolate rejects empty tensors).
            device = torch.as_tensor(raw_maps[0]).device
            return (torch.zeros((0, *small_size), device=device),
                    torch.zeros((0, height, width), device=device))
    strided, high_res = 0, 0
    for raw in raw_maps:
        raw = torch.as_tensor(raw, dtype=torch.float32)
        if keys is not None:
            # Resizing is per channel, so dropping classes first is exact.
            raw = raw[:, keys]
        raw = raw.relu()
        cam = (raw[0] + raw[1].flip(-1)).unsqueeze(0)
        strided = strided + F.interpolate(
            cam, small_size, mode='bilinear', align_corners=False)[0]
        high_res = high_res + F.interpolate(
            cam, up_size, mode='bilinear', align_corners=False)[0]
    high_res = high_res[:, :height, :width]
    return _max_normalize(strided), _max_normalize(high_res)
