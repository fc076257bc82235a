# Copyright (c) mmwsss contributors. All rights reserved.
"""IRNet random walk: propagate CAMs with boundary-aware affinities.

The reference (jiwoon-ahn/irn, ``propagate_to_edge``) builds the dense
transition matrix ``T`` of the h*w pixels, squares it ``exp_times`` times and
multiplies the CAMs by ``T**(2**exp_times)``. ``T`` has at most 69 nonzeros per
column (radius 5), so the same operator is applied here as ``2**exp_times``
sparse products instead: O(69 h w) memory instead of O((h w)**2), and
2 * 69 h w C flops per step (~1e9 in all for a 94 x 125 grid and 3 classes,
against ~3e13 for the dense squarings; see ``benchmarks/random_walk.py``).
"""
import functools
import math
import warnings
from typing import Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.utils.tensor import to_numpy
from .path_index import half_disc_paths


@functools.lru_cache(maxsize=16)
def _stencil(radius: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Path and neighbour tables of the half disc of ``radius``.

    Returns:
        tuple: ``search_dst`` (Ndir, 2); for every direction the positions
        of its path pixels in a (rf + 1) x (2 rf + 1) window whose top
        middle is the source, padded with the source (Ndir, Lmax); and the
        order sorting the offsets ``[-search_dst; 0; search_dst]`` by
        (dy, dx), i.e. by column in a row of the transition matrix.
    """
    search_dst, _, search_paths = half_disc_paths(radius)
    rf = math.ceil(radius) - 1
    lmax = max(paths.shape[1] for paths in search_paths)
    # Repeating the source pixel does not change a maximum.
    window = np.full((len(search_dst), lmax), rf, dtype=np.int64)
    row = 0
    for paths in search_paths:
        n_dirs, length, _ = paths.shape
        window[row:row + n_dirs, :length] = (
            paths[..., 0] * (2 * rf + 1) + paths[..., 1] + rf)
        row += n_dirs
    offsets = np.concatenate([-search_dst, [[0, 0]], search_dst])
    return search_dst, window, np.lexsort((offsets[:, 1], offsets[:, 0]))


_WALK_DTYPES = (torch.float32, torch.float64)


def resolve_walk_dtype(dtype: Union[str, torch.dtype]) -> torch.dtype:
    """The dtype of the random walk, checked.

    Args:
        dtype (str | torch.dtype): ``float32`` or ``float64``, as a dtype
            or its name.

    Returns:
        torch.dtype: ``torch.float32`` or ``torch.float64``.
    """
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.replace('torch.', ''), None)
    if dtype not in _WALK_DTYPES:
        raise ValueError('The random walk runs in float32 or float64, got '
                         f'{dtype!r}.')
    return dtype


@torch.no_grad()
def transition_matrix(edge: torch.Tensor,
                      beta: float = 10,
                      radius: int = 5,
                      dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The random-walk transition operator as a sparse CSR matrix.

    The affinity of two pixels closer than ``radius`` is
    ``a_ij = 1 - max(edge)`` along the path between them (see
    :class:`~.path_index.PathIndex`); it is symmetric, 1 on the diagonal and
    0 for farther pixels. The reference pads the edge map with 1.0 before
    enumerating pairs and crops the padding away afterwards, which keeps
    exactly the pairs of real pixels, i.e. the ones built here. The
    reference's column-normalised ``T = A**beta / colsum`` acts on row
    vectors; since ``A`` is symmetric, the returned matrix is its transpose
    ``P = D**-1 A**beta`` (row-normalised), which acts on column vectors.
    The weights are computed in float64 whatever ``dtype``, so that a
    float32 matrix is the float64 one correctly rounded. Not
    differentiable.

    Args:
        edge (torch.Tensor): (h, w) or (1, h, w) boundary probabilities in
            [0, 1].
        beta (float): Exponent applied element-wise to the affinities.
            Defaults to 10.
        radius (int): Neighbourhood radius. Defaults to 5.
        dtype (torch.dtype): dtype of the returned values. Defaults to
            ``torch.float64``.

    Returns:
        torch.Tensor: (h*w, h*w) sparse CSR matrix of ``dtype`` on the device
        of ``edge`` with int32 indices, rows indexed by row-major pixel.
    """
    height, width = edge.shape[-2:]
    _, window, _ = _stencil(radius)
    rf = math.ceil(radius) - 1

    # Every pixel's (rf + 1) x (2 rf + 1) window below it, as columns;
    # outside pixels are 1.0 so pairs leaving the image get weight 0.
    padded = F.pad(
        edge.reshape(1, 1, height, width).double(), (rf, rf, 0, rf), value=1.0)
    windows = F.unfold(padded, (rf + 1, 2 * rf + 1))[0]
    window = torch.tensor(window, device=edge.device)
    path_max = windows[window[:, 0]]
    for position in range(1, window.shape[1]):
        torch.maximum(path_max, windows[window[:, position]], out=path_max)
    del windows
    # In-place updates keep the peak memory at a few (Ndir, h*w) arrays.
    return transition_from_pair_weights(
        path_max.neg_().add_(1).pow_(beta), (height, width), radius, dtype)


@torch.no_grad()
def transition_from_pair_weights(weights: torch.Tensor,
                                 grid_size: Sequence[int],
                                 radius: int = 5,
                                 dtype: torch.dtype = torch.float64
                                 ) -> torch.Tensor:
    """Row-normalised sparse transition matrix from half-disc pair weights.

    The symmetric weight matrix ``W`` has 1 on the diagonal and
    ``W[p, p + d] = W[p + d, p] = weights[d, p]`` for every direction ``d``
    of the half disc of ``radius`` (in :class:`~.path_index.PathIndex`
    channel order) whose destination lies inside the grid; the result is
    ``D**-1 W`` (the transpose of the reference's column-normalised ``T``).
    Shared by IRNet (weights from boundary paths) and AffinityNet (weights
    from feature distances).

    Args:
        weights (torch.Tensor): (Ndir, h*w) float64 weights of the pairs
            (pixel, pixel + direction), e.g. ``affinity**beta``; modified in
            place. Pairs leaving the grid are ignored.
        grid_size (Sequence[int]): The grid ``(h, w)``.
        radius (int): Neighbourhood radius. Defaults to 5.
        dtype (torch.dtype): dtype of the returned values. Defaults to
            ``torch.float64``.

    Returns:
        torch.Tensor: (h*w, h*w) sparse CSR matrix of ``dtype`` on the device
        of ``weights`` with int32 indices, rows indexed by row-major pixel.
    """
    height, width = (int(side) for side in grid_size)
    num_pixels = height * width
    device = weights.device
    search_dst, _, order = _stencil(radius)
    forward = weights

    dst = torch.tensor(search_dst, dtype=torch.int32, device=device)
    pix = torch.arange(num_pixels, dtype=torch.int32, device=device)
    dst_y = pix // width + dst[:, :1]
    dst_x = pix % width + dst[:, 1:]
    inside = (dst_y < height) & (dst_x >= 0) & (dst_x < width)
    forward.mul_(inside)
    # Weight of the pair (pixel, pixel - direction), stored at the pixel.
    backward = torch.zeros_like(forward)
    backward[inside.nonzero(as_tuple=True)[0],
             (dst_y * width + dst_x)[inside].long()] = forward[inside]
    del dst_y, dst_x, inside

    # (2 Ndir + 1, h*w) neighbour weights, sorted by column within a row.
    neighbours = [*backward, forward.new_ones(num_pixels), *forward]
    weights = torch.stack([neighbours[i] for i in order])
    del neighbours, forward, backward
    weights.div_(weights.sum(0))
    offsets = np.concatenate([-search_dst, [[0, 0]], search_dst])[order]
    offsets = torch.tensor(
        offsets[:, 0] * width + offsets[:, 1],
        dtype=torch.int32,
        device=device)

    # Zero weights are pairs outside the image or cut by a full boundary.
    keep = weights.T > 0
    values = weights.T[keep].to(dtype)
    del weights
    cols = (pix[:, None] + offsets)[keep]
    crow = torch.zeros(num_pixels + 1, dtype=torch.int32, device=device)
    crow[1:] = torch.cumsum(keep.sum(1), 0)
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Sparse CSR tensor support')
        return torch.sparse_csr_tensor(
            crow,
            cols,
            values, (num_pixels, num_pixels),
            check_invariants=False)


@torch.no_grad()
def propagate(transition: torch.Tensor, maps: torch.Tensor,
              exp_times: int) -> torch.Tensor:
    """Apply ``2**exp_times`` steps of a random walk to score maps.

    Equal to the reference's ``maps @ T**(2**exp_times)`` (row vectors,
    column-normalised ``T``) for ``transition`` = the transpose of ``T`` as
    returned by :func:`transition_matrix`, without squaring a dense matrix.

    Args:
        transition (torch.Tensor): (h*w, h*w) sparse row-normalised
            transition matrix.
        maps (torch.Tensor): (C, h, w) maps, of the dtype of
            ``transition``.
        exp_times (int): Log2 of the number of steps.

    Returns:
        torch.Tensor: (C, h, w) propagated maps.
    """
    num_maps, height, width = maps.shape
    # Column vectors: one column per map.
    state = maps.reshape(num_maps, -1).T
    for _ in range(2**exp_times):
        state = torch.sparse.mm(transition, state)
    return state.T.reshape(num_maps, height, width)


@torch.no_grad()
def random_walk(
        cams: torch.Tensor,
        edge: torch.Tensor,
        beta: float = 10,
        exp_times: int = 8,
        radius: int = 5,
        dtype: Union[str, torch.dtype] = torch.float64) -> torch.Tensor:
    """Propagate CAMs by ``2**exp_times`` steps of the IRNet random walk.

    Computes ``(cams * (1 - edge)) @ T**(2**exp_times)`` with the reference's
    column-normalised transition matrix ``T`` (see :func:`transition_matrix`)
    without forming a dense (h*w)**2 matrix. Not differentiable.

    It runs in float64 by default, on every device. float32 keeps the
    reference's tolerance (``irn_random_walk_sem_seg.npz``: 1e-4 of the
    maximum, exact labels) on its three small cases (2.7e-5 of the maximum
    from the reference, float64: 3.5e-5; 5.3e-5 from float64; identical
    labels), but its error grows with the grid, as the rounding of each
    product repeats at every step of an almost stationary walk: on the
    inputs of ``benchmarks/random_walk.py`` it is 3.9e-5 (41x56 grid) to
    1.06e-4 (75x100) of the maximum from float64, near or past the tolerance
    at VOC sizes (a 375x500 image gives 94x125: 7.2e-5), where the
    reference's own float32 squarings stay within 2.3e-5 of float64
    (41x56, 56x75). Labels barely move (4 of 661,500 pixels differed on
    four VOC-sized inputs), float32 is hardly faster on the CPU (x0.86-1.23 in
    the benchmark, within its noise) and on a GPU the 256 small products
    are bound by kernel launches more than by arithmetic, so float32 is
    only an option, e.g. for large grids on GPUs with slow float64.

    Args:
        cams (torch.Tensor): (C, h, w) non-negative CAMs of the image's
            classes (no background channel).
        edge (torch.Tensor): (h, w) or (1, h, w) boundary probabilities in
            [0, 1].
        beta (float): Affinity exponent. Defaults to 10.
        exp_times (int): Log2 of the number of walk steps. Defaults to 8.
        radius (int): Neighbourhood radius. Defaults to 5.
        dtype (str | torch.dtype): dtype of the walk, ``float32`` or
            ``float64`` (as a dtype or its name). Defaults to
            ``torch.float64``.

    Returns:
        torch.Tensor: (C, h, w) propagated maps, dtype and device of ``cams``.
    """
    height, width = cams.shape[-2:]
    dtype = resolve_walk_dtype(dtype)
    edge = edge.reshape(height, width).to(cams.device)
    transition = transition_matrix(edge, beta, radius, dtype)
    return propagate(transition,
                     cams.to(dtype) * (1 - edge.to(dtype)),
                     exp_times).to(cams.dtype)


def upsample_rw(rw: torch.Tensor, image_size: Sequence[int]) -> torch.Tensor:
    """Upsample strided random-walk maps to the image and normalise them.

    Bilinear x4 (``align_corners=False``), crop to ``image_size`` and divide
    by the global maximum over all channels and pixels. All-zero maps (an
    image whose CAMs are all zero) stay zero, i.e. background, where the
    reference divides 0 by 0.

    Args:
        rw (torch.Tensor): (C, h, w) random-walk output at stride 4.
        image_size (Sequence[int]): Original image size ``(H, W)``.

    Returns:
        torch.Tensor: (C, H, W) maps with maximum 1 (or all zero).
    """
    height, width = image_size
    up = F.interpolate(
        rw[None], scale_factor=4, mode='bilinear', align_corners=False)[0]
    up = up[:, :height, :width]
    peak = up.max()
    return up / peak if peak > 0 else up


def rw_to_semantic_label(rw: torch.Tensor,
                         keys: Sequence[int],
                         image_size: Sequence[int],
                         bg_threshold: float = 0.25) -> np.ndarray:
    """Semantic pseudo label from random-walk maps.

    Args:
        rw (torch.Tensor): (C, h, w) random-walk output at stride 4.
        keys (Sequence[int]): 0-based class index of each channel.
        image_size (Sequence[int]): Original image size ``(H, W)``.
        bg_threshold (float): Constant background score. Defaults to 0.25.

    Returns:
        np.ndarray: (H, W) uint8 label, 0 = background and ``k + 1`` for
        class ``k``.
    """
    scores = upsample_rw(rw, image_size)
    scores = F.pad(scores, (0, 0, 0, 0, 1, 0), value=bg_threshold)
    lut = np.concatenate([[0], np.asarray(keys, dtype=np.int64) + 1])
    return lut[to_numpy(scores.argmax(0))].astype(np.uint8)
