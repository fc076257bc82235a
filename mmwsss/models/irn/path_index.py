# Copyright (c) mmwsss contributors. All rights reserved.
"""Pixel-pair paths of IRNet (inter-pixel relation network).

IRNet relates every pixel to the pixels inside a half disc of radius ``r``
around it. The affinity of a pair is ``1 - max(boundary)`` along a thick line
("path") between the two pixels. :class:`PathIndex` enumerates these pairs and
paths on a feature grid in the channel order of the reference implementation
(jiwoon-ahn/irn, ``misc/indexing.py``), so affinities, pair displacements and
pair labels line up channel by channel with it.
"""
import functools
import math
from typing import Dict, List, Tuple, Union

import numpy as np
import torch


def _readonly(array: np.ndarray) -> np.ndarray:
    # Cached arrays are shared between callers: protect them from in-place
    # edits.
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=16)
def half_disc_paths(
    radius: float
) -> Tuple[np.ndarray, Tuple[int, ...], Tuple[np.ndarray, ...]]:
    """Grid-independent geometry of the half disc of ``radius``.

    Args:
        radius (float): Radius of the half disc of neighbours.

    Returns:
        tuple: ``search_dst`` (Ndir, 2) directions (dy, dx) in channel order,
        the sorted path lengths, and per length one read-only
        (n_dirs, L, 2) array of path offsets, destination first and the
        source (0, 0) last.
    """
    radius_floor = math.ceil(radius) - 1
    span = np.arange(-radius_floor, radius_floor + 1)
    # Candidate path pixels in row-major enumeration order, rows y >= 0.
    cand_y, cand_x = np.meshgrid(
        np.arange(radius_floor + 1), span, indexing='ij')
    cand_y, cand_x = cand_y.ravel(), cand_x.ravel()
    # Half disc: (0, x) for x > 0, then every y > 0. The candidate order
    # already enumerates (0, 1..rf) before the rows y = 1..rf.
    in_half_disc = ((cand_y > 0) | (cand_x > 0)) & (
        cand_y**2 + cand_x**2 < radius**2)
    dirs = np.stack([cand_y[in_half_disc], cand_x[in_half_disc]], axis=1)

    # A path sorts its pixels by decreasing |y| + |x|, ties in enumeration
    # order; this key does not depend on the direction, so sort once.
    order = np.argsort(-(np.abs(cand_y) + np.abs(cand_x)), kind='stable')
    cand_y, cand_x = cand_y[order], cand_x[order]

    dy, dx = dirs[:, :1], dirs[:, 1:]
    in_box = ((cand_y >= np.minimum(dy, 0)) & (cand_y <= np.maximum(dy, 0))
              & (cand_x >= np.minimum(dx, 0)) & (cand_x <= np.maximum(dx, 0)))
    # Squared distance to the line through 0 and d below 1, kept in integers.
    near_line = (dy * cand_x - dx * cand_y)**2 < dy**2 + dx**2
    on_path = in_box & near_line
    lengths = on_path.sum(axis=1)

    cand = np.stack([cand_y, cand_x], axis=1)
    path_lengths = tuple(int(length) for length in np.unique(lengths))
    search_paths = tuple(
        _readonly(cand[np.nonzero(on_path[lengths == length])[1]].reshape(
            -1, length, 2)) for length in path_lengths)
    search_dst = _readonly(
        np.concatenate([paths[:, 0] for paths in search_paths], axis=0))
    return search_dst, path_lengths, search_paths


class PathIndex:
    """Pixel pairs and the paths between them on a feature grid.

    Directions are the half disc ``{(0, x): 0 < x} + {(y, x): 0 < y}`` with
    ``x**2 + y**2 < radius**2`` and ``|x|, y <= ceil(radius) - 1``. They are
    grouped by path length (increasing) and, within a group, kept in
    enumeration order; this is the channel order of every pairwise tensor.
    Sources are the pixels whose whole half disc lies inside the grid.

    Instances are immutable; :func:`get_path_index` caches them per
    ``(radius, grid_size)``.

    Args:
        radius (float): Radius of the half disc of neighbours.
        grid_size (tuple[int, int]): Feature grid size ``(H, W)``.

    Raises:
        ValueError: If the grid has no source pixel, i.e.
            ``H <= ceil(radius) - 1`` or ``W <= 2 * (ceil(radius) - 1)``.
    """

    def __init__(self, radius: float, grid_size: Tuple[int, int]) -> None:
        height, width = (int(s) for s in grid_size)
        self.radius = radius
        self.grid_size = (height, width)
        self.radius_floor = math.ceil(radius) - 1
        rf = self.radius_floor
        if height <= rf or width <= 2 * rf:
            raise ValueError(
                f'Grid {self.grid_size} is too small for radius {radius}: '
                f'need H > {rf} and W > {2 * rf}.')
        self.search_dst, path_lengths, self.search_paths = half_disc_paths(
            radius)
        self.path_lengths: List[int] = list(path_lengths)

        src_y, src_x = np.meshgrid(
            np.arange(height - rf), np.arange(rf, width - rf), indexing='ij')
        self.src_indices = _readonly((src_y * width + src_x).ravel())
        self.path_indices: List[np.ndarray] = [
            _readonly(self.src_indices +
                      (paths[..., 0] * width + paths[..., 1])[..., None])
            for paths in self.search_paths
        ]
        self.dst_indices = _readonly(
            np.concatenate([idx[:, 0] for idx in self.path_indices], axis=0))
        self._tensors: Dict[torch.device,
                            Tuple[List[torch.Tensor], torch.Tensor,
                                  torch.Tensor]] = {}

    @property
    def num_directions(self) -> int:
        """int: Number of directions (pair channels), ``Ndir``."""
        return len(self.search_dst)

    @property
    def num_sources(self) -> int:
        """int: Number of source pixels, ``Nsrc``."""
        return len(self.src_indices)

    def tensors(
        self,
        device: Union[str, torch.device] = 'cpu'
    ) -> Tuple[List[torch.Tensor], torch.Tensor, torch.Tensor]:
        """The indices as int64 tensors on ``device``, cached per device.

        Args:
            device (str | torch.device): Target device. Defaults to 'cpu'.

        Returns:
            tuple: ``(path_indices, src_indices, dst_indices)`` with one
            (n_dirs, L, Nsrc) tensor per path length.
        """
        device = torch.device(device)
        if device not in self._tensors:
            self._tensors[device] = ([
                torch.tensor(idx, device=device) for idx in self.path_indices
            ], torch.tensor(self.src_indices, device=device),
                                     torch.tensor(
                                         self.dst_indices, device=device))
        return self._tensors[device]


@functools.lru_cache(maxsize=8)
def get_path_index(radius: float, grid_size: Tuple[int, int]) -> PathIndex:
    """Cached :class:`PathIndex` constructor.

    Args:
        radius (float): Radius of the half disc of neighbours.
        grid_size (tuple[int, int]): Feature grid size ``(H, W)``.

    Returns:
        PathIndex: The shared instance for ``(radius, grid_size)``.
    """
    return PathIndex(radius, tuple(int(s) for s in grid_size))


def affinity_labels(
        label: np.ndarray,
        path_index: PathIndex,
        num_classes: int = 21) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair labels of IRNet from a (reduced) semantic label map.

    A pair is valid when both labels are below ``num_classes`` (255 and other
    ignore values drop it).

    Args:
        label (np.ndarray): (H, W) integer label map on the path-index grid,
            0 = background.
        path_index (PathIndex): Pairs on the (H, W) grid.
        num_classes (int): Number of classes including background.
            Defaults to 21.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``(bg_pos, fg_pos, neg)``,
        bool (Ndir, Nsrc) each: same-label background pairs, same-label
        foreground pairs and different-label pairs.
    """
    flat = np.asarray(label).reshape(-1)
    if flat.size != path_index.grid_size[0] * path_index.grid_size[1]:
        raise ValueError(f'Label of shape {np.shape(label)} does not match '
                         f'the path-index grid {path_index.grid_size}.')
    src = flat[path_index.src_indices][None]
    dst = flat[path_index.dst_indices]
    valid = (src < num_classes) & (dst < num_classes)
    equal = src == dst
    bg_pos = valid & equal & (src == 0)
    fg_pos = valid & equal & (src > 0)
    neg = valid & ~equal
    return bg_pos, fg_pos, neg


def take_last(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[..., index]``: entries of the last dimension at ``index``.

    The same values and, backward, the same gradients bit for bit as the
    indexing (tested with repeated positions and tied maxima). On a CPU it
    gathers: indexing's gradient is a serial accumulating ``index_put_``
    there, and the pair gathers of the IRNet losses ran 3x faster forward
    and backward as gathers (AffinityNet's 1.6x; IRNet training steps
    1.2-1.3x). Elsewhere it indexes: on CUDA indexing's gradient is summed
    deterministically (sorted), gather's with atomic adds.

    Args:
        values (torch.Tensor): (..., N) values.
        index (torch.Tensor): Integer positions in ``[0, N)``, any shape.

    Returns:
        torch.Tensor: (..., \*index.shape) values.
    """
    if values.device.type != 'cpu':
        return values[..., index]
    lead = values.shape[:-1]
    positions = index.reshape(-1).expand(*lead, index.numel())
    return values.gather(-1, positions).view(*lead, *index.shape)


def edge_to_affinity(edge_prob: torch.Tensor,
                     path_index: PathIndex) -> torch.Tensor:
    """Pair affinities ``1 - max(edge)`` along each path.

    The maximum runs over every path pixel, both endpoints included.

    Args:
        edge_prob (torch.Tensor): (B, 1, H, W) boundary probabilities.
        path_index (PathIndex): Pairs on the (H, W) grid.

    Returns:
        torch.Tensor: (B, Ndir, Nsrc) affinities, differentiable w.r.t.
        ``edge_prob``.
    """
    flat = edge_prob.reshape(edge_prob.shape[0], -1)
    path_indices, _, _ = path_index.tensors(edge_prob.device)
    # One gather per path length: (B, n_dirs, L, Nsrc) -> max over L.
    return torch.cat(
        [1 - take_last(flat, idx).amax(dim=2) for idx in path_indices],
        dim=1)


def pair_displacement(displacement: torch.Tensor,
                      path_index: PathIndex) -> torch.Tensor:
    """Displacement differences ``D(src) - D(dst)`` of every pair.

    Args:
        displacement (torch.Tensor): (B, 2, H, W) displacement field.
        path_index (PathIndex): Pairs on the (H, W) grid.

    Returns:
        torch.Tensor: (B, 2, Ndir, Nsrc) pair displacements.
    """
    flat = displacement.reshape(*displacement.shape[:2], -1)
    _, src, dst = path_index.tensors(displacement.device)
    return take_last(flat, src).unsqueeze(2) - take_last(flat, dst)
