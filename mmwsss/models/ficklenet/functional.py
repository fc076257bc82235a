# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNet: random hidden-unit selection per sliding-window position.

"FickleNet: Weakly and Semi-Supervised Semantic Image Segmentation using
Stochastic Inference" (Lee et al., CVPR 2019); J. Lee's 2023 dissertation,
§3.2.1. A k x k convolution whose every output position sees its own random
subset of the hidden units of its window is computed with one strided
convolution on the *expanded* feature map: each k x k window is copied into
its own, non-overlapping k x k block (:func:`expand_windows`), the dropout
mask is applied to the expanded map (:func:`window_dropout_mask`), and a
convolution with stride = kernel = k gives the output
(:func:`ficklenet_conv`). :func:`ficklenet_conv_naive` is the per-position
loop the trick replaces (the reference of the tests).
"""
from typing import Optional

import torch
import torch.nn.functional as F


def _check_kernel(kernel_size: int) -> None:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError('FickleNet windows need an odd kernel_size >= 1 '
                         f'(centred on their position), got {kernel_size}')


def expand_windows(feats: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Expand a feature map so that its sliding windows do not overlap.

    The map is zero-padded by ``k // 2`` on every side ("same" output size)
    and the k x k window centred on position (i, j) becomes the block
    ``[i*k:(i+1)*k, j*k:(j+1)*k]`` of the result, so a convolution with
    stride = kernel = k on the result is the ordinary stride-1 convolution
    on ``feats``.

    Args:
        feats (Tensor): Feature map (B, C, H, W).
        kernel_size (int): Odd window size k.

    Returns:
        Tensor: Expanded map (B, C, H * k, W * k); differentiable.
    """
    _check_kernel(kernel_size)
    k = kernel_size
    b, c, h, w = feats.shape
    padded = F.pad(feats, [k // 2] * 4)
    # (B, C, H, k, W, k) view: windows of neighbouring positions overlap in
    # memory; the reshape copies them apart (3x faster than F.unfold).
    sb, sc, sy, sx = padded.stride()
    blocks = padded.as_strided((b, c, h, k, w, k), (sb, sc, sy, sy, sx, sx),
                               padded.storage_offset())
    return blocks.reshape(b, c, h * k, w * k)


def window_dropout_mask(batch: int,
                        size_hw,
                        kernel_size: int,
                        drop_prob: float,
                        channels: int = 1,
                        center_fixed: bool = True,
                        generator: Optional[torch.Generator] = None,
                        device=None,
                        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Inverted-dropout mask of an expanded map, one draw per window.

    Every hidden unit of every window position is kept with probability
    ``1 - p`` and then scaled by ``1 / (1 - p)`` (so the expectation is the
    deterministic convolution), independently per output position. With
    ``center_fixed`` the window's own position is never dropped (and not
    rescaled): every output position always sees its own feature, so the
    output stays a localization map of that position (FickleNet's
    "center-fixed" dropout).

    Args:
        batch (int): Batch size B.
        size_hw (tuple[int, int]): Feature map size (H, W) (not expanded).
        kernel_size (int): Odd window size k.
        drop_prob (float): Dropout rate p in [0, 1).
        channels (int): 1 to share the mask over the channels (a window's
            hidden units are its k x k spatial positions, as in the
            dissertation's "dropout in the spatial axis"), or C for an
            independent mask per channel. Defaults to 1.
        center_fixed (bool): Never drop a window's centre. Defaults to True.
        generator (torch.Generator, optional): Source of the randomness.
            The mask is drawn on the generator's device and then moved to
            ``device``: a CPU generator gives the same mask on every device
            (CUDA's random stream differs from the CPU's).
        device (torch.device, optional): Device of the mask. Defaults to
            the generator's device (the CPU without a generator).
        dtype (torch.dtype): Mask dtype. Defaults to float32.

    Returns:
        Tensor: (B, channels, H * k, W * k) with entries 0, ``1 / (1 - p)``
        or (kept centres) 1.
    """
    _check_kernel(kernel_size)
    if not 0.0 <= drop_prob < 1.0:
        raise ValueError(f'drop_prob must be in [0, 1), got {drop_prob}')
    k = kernel_size
    h, w = (int(s) for s in size_hw)
    shape = (batch, channels, h * k, w * k)
    draw_device = device if generator is None else generator.device
    keep = torch.rand(
        shape, generator=generator, device=draw_device) >= drop_prob
    # moved as bool: the smallest copy when drawn on another device
    mask = keep.to(device).to(dtype) / (1.0 - drop_prob)
    if center_fixed:
        mask.view(batch, channels, h, k, w, k)[:, :, :, k // 2, :, k // 2] = 1
    return mask


def ficklenet_conv(feats: torch.Tensor,
                   weight: torch.Tensor,
                   mask: Optional[torch.Tensor] = None,
                   bias: Optional[torch.Tensor] = None,
                   draws_per_batch: Optional[int] = None) -> torch.Tensor:
    """A k x k "same" convolution with per-position dropout (map expansion).

    Expands ``feats`` (:func:`expand_windows`), multiplies the expanded map
    by ``mask`` and convolves with stride = kernel = k. A mask with a
    leading draw axis applies N masks to one expansion (N stochastic maps of
    the same features). Each draw needs its own masked copy of the
    expansion: ``draws_per_batch`` bounds how many exist at once (the peak
    memory) without changing the result.

    Args:
        feats (Tensor): Feature map (B, C, H, W).
        weight (Tensor): Convolution weight (O, C, k, k), k odd.
        mask (Tensor, optional): (B, 1 or C, H * k, W * k) mask of the
            expanded map (e.g. :func:`window_dropout_mask`), or
            (N, B, 1 or C, H * k, W * k) for N draws. None: no dropout.
        bias (Tensor, optional): (O, ) bias.
        draws_per_batch (int, optional): Draws masked and convolved at once
            when ``mask`` has a draw axis. Defaults to None (all N).

    Returns:
        Tensor: (B, O, H, W), or (N * B, O, H, W) draw-major for N draws.
    """
    k = weight.shape[-1]
    expanded = expand_windows(feats, k)
    if mask is None:
        return F.conv2d(expanded, weight, bias, stride=k)
    if mask.dim() == 4:
        return F.conv2d(expanded * mask, weight, bias, stride=k)
    if draws_per_batch is not None and draws_per_batch < 1:
        raise ValueError(
            f'draws_per_batch must be >= 1, got {draws_per_batch}')
    step = draws_per_batch or mask.shape[0]
    return torch.cat([
        F.conv2d((expanded * draws).flatten(0, 1), weight, bias, stride=k)
        for draws in mask.split(step)
    ])


def ficklenet_conv_naive(feats: torch.Tensor,
                         weight: torch.Tensor,
                         mask: Optional[torch.Tensor] = None,
                         bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """:func:`ficklenet_conv` computed position by position.

    The implementation the map expansion replaces (dissertation Fig. 3.2a):
    for every output position its zero-padded k x k window is cut out,
    multiplied by that position's own block of ``mask`` and convolved. A
    Python loop over H x W positions; a reference for tests, not for use.

    Args:
        feats (Tensor): Feature map (B, C, H, W).
        weight (Tensor): Convolution weight (O, C, k, k), k odd.
        mask (Tensor, optional): (B, 1 or C, H * k, W * k); block
            ``[i*k:(i+1)*k, j*k:(j+1)*k]`` is position (i, j)'s mask.
        bias (Tensor, optional): (O, ) bias.

    Returns:
        Tensor: (B, O, H, W).
    """
    k = weight.shape[-1]
    _check_kernel(k)
    b, _, h, w = feats.shape
    padded = F.pad(feats, [k // 2] * 4)
    rows = []
    for i in range(h):
        row = []
        for j in range(w):
            window = padded[:, :, i:i + k, j:j + k]
            if mask is not None:
                window = window * mask[:, :, i * k:(i + 1) * k,
                                       j * k:(j + 1) * k]
            out = torch.einsum('bcyx,ocyx->bo', window, weight)
            row.append(out if bias is None else out + bias)
        rows.append(torch.stack(row, dim=-1))
    return torch.stack(rows, dim=-2)


def aggregate_cam_draws(cams: torch.Tensor, mode: str = 'max') -> torch.Tensor:
    """Aggregate N stochastic localization maps into one.

    ``'max'`` (default) takes the per-pixel maximum over the draws. For maps
    normalised per class to [0, 1] (as every CAM here), thresholding the
    result at t gives exactly the union of the draws' regions at t, for
    every t: the pixels that any draw assigns to the class with a high score
    (dissertation §3.2.1). ``'mean'`` averages the draws and divides every
    class map by its max + 1e-5 again (a smoother alternative). All-zero
    class maps stay zero in both modes.

    Args:
        cams (Tensor): (N, K, H, W) (or (N, K, ...) with at least one
            spatial axis) maps of N draws.
        mode (str): ``'max'`` or ``'mean'``. Defaults to ``'max'``.

    Returns:
        Tensor: (K, ...) aggregated maps.
    """
    if cams.shape[0] == 0:
        raise ValueError('aggregate_cam_draws needs at least one draw')
    if mode == 'max':
        return cams.amax(dim=0)
    if mode == 'mean':
        mean = cams.mean(dim=0)
        spatial = tuple(range(1, mean.dim()))
        return mean / (mean.amax(dim=spatial, keepdim=True) + 1e-5)
    raise ValueError(f"mode must be 'max' or 'mean', got {mode!r}")
