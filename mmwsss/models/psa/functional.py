# Copyright (c) mmwsss contributors. All rights reserved.
"""PSA / AffinityNet (Ahn & Kwak, CVPR 2018) as array-in/array-out functions.

Pairs are those of IRNet (the half disc of ``radius`` on a feature grid, the
same sources, see :class:`mmwsss.functional.PathIndex`), in the reference's
channel order: directions in enumeration order, ``(0, 1..r-1)`` then rows
``y = 1..r-1`` with ``x`` increasing (jiwoon-ahn/psa ``get_indices_of_pairs``
and ``ExtractAffinityLabelInRadius``), where IRNet groups them by path
length. The random walk reuses IRNet's sparse operator
(:func:`mmwsss.models.irn.random_walk.transition_from_pair_weights`).
"""
import functools
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from pydensecrf.utils import unary_from_softmax

from mmwsss.utils.tensor import to_numpy
from ..irn.irnet import pair_labels
from ..irn.losses import masked_pair_mean
from ..irn.path_index import get_path_index, half_disc_paths, take_last
from ..irn.random_walk import (propagate, resolve_walk_dtype,
                               transition_from_pair_weights)
from ..utils.crf import crf_kernels, dense_crf

_EPS = 1e-5
# Below this, a pixel has no score at all (PSA: the zero padding of a crop).
_NO_SCORE = 1e-5
CRFCallable = Callable[[np.ndarray, np.ndarray], np.ndarray]


@functools.lru_cache(maxsize=16)
def psa_pair_order(radius: float) -> np.ndarray:
    """PSA's direction order as a permutation of IRNet's pair channels.

    Args:
        radius (float): Radius of the half disc.

    Returns:
        np.ndarray: (Ndir,) read-only indices: channel ``i`` of PSA is
        channel ``order[i]`` of :class:`mmwsss.functional.PathIndex`.
    """
    search_dst = half_disc_paths(radius)[0]
    # Enumeration order is (dy, dx) lexicographic.
    order = np.lexsort((search_dst[:, 1], search_dst[:, 0]))
    order.flags.writeable = False
    return order


def psa_pair_indices(
        radius: float,
        grid_size: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """Flat indices of AffinityNet's pixel pairs (``get_indices_of_pairs``).

    Args:
        radius (float): Radius of the half disc.
        grid_size (Sequence[int]): Feature grid ``(h, w)``.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``ind_from`` (Nsrc,) sources
        (row-major, rows ``[0, h - rf)``, columns ``[rf, w - rf)``) and
        ``ind_to`` (Ndir, Nsrc) their partners, direction-major.
    """
    path_index = get_path_index(radius, tuple(int(s) for s in grid_size))
    return (path_index.src_indices,
            path_index.dst_indices[psa_pair_order(radius)])


def psa_affinity_labels(
        labels: torch.Tensor,
        radius: float = 5,
        ignore_index: int = 255
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AffinityNet pair labels (PSA ``ExtractAffinityLabelInRadius``).

    ``bg_pos``: both pixels background; ``fg_pos``: the same foreground
    label; ``neg``: different labels, both known (not ``ignore_index``).

    Args:
        labels (torch.Tensor | np.ndarray): (B, h, w) or (h, w) integer
            labels on the feature grid, 0 = background.
        radius (float): Radius of the half disc. Defaults to 5.
        ignore_index (int): Unknown label. Defaults to 255.

    Returns:
        tuple[torch.Tensor]: ``(bg_pos, fg_pos, neg)``, bool (B, Ndir, Nsrc)
        (or (Ndir, Nsrc) for one map), on the device of ``labels``.
    """
    labels = torch.as_tensor(labels)
    batched = labels.ndim == 3
    if not batched:
        labels = labels[None]
    path_index = get_path_index(radius, tuple(labels.shape[-2:]))
    order = torch.tensor(psa_pair_order(radius), device=labels.device)
    masks = tuple(mask[:, order]
                  for mask in pair_labels(labels, path_index, ignore_index))
    return masks if batched else tuple(mask[0] for mask in masks)


def psa_pair_affinity(features: torch.Tensor,
                      radius: float = 5) -> torch.Tensor:
    """Semantic affinities ``exp(-mean_c |f_i - f_j|)`` of the pixel pairs.

    Args:
        features (torch.Tensor): (B, C, h, w) AffinityNet features.
        radius (float): Radius of the half disc. Defaults to 5.

    Returns:
        torch.Tensor: (B, Ndir, Nsrc) affinities in (0, 1], PSA order,
        differentiable.
    """
    flat = features.flatten(2)
    path_index = get_path_index(radius, tuple(features.shape[-2:]))
    _, src, dst = path_index.tensors(features.device)
    order = torch.tensor(psa_pair_order(radius), device=features.device)
    source = take_last(flat, src).unsqueeze(2)
    partner = take_last(flat, dst[order])
    return torch.exp(-(partner - source).abs().mean(dim=1))


def psa_affinity_loss(aff: torch.Tensor, bg_pos: torch.Tensor,
                      fg_pos: torch.Tensor,
                      neg: torch.Tensor) -> Dict[str, torch.Tensor]:
    """The AffinityNet loss (PSA ``train_aff.py``).

    With ``mean_m(t) = sum(m * t) / (sum(m) + 1e-5)`` over the whole batch:
    ``loss_bg_pos_aff = mean_bg(-log(a + 1e-5))``, ``loss_fg_pos_aff`` the
    same over ``fg_pos``, ``loss_neg_aff = mean_neg(-log(1 + 1e-5 - a))``
    and ``loss_total = bg / 4 + fg / 4 + neg / 2``.

    Computed in float32 at least, with autocast off (as IRNet's losses):
    ``1 + 1e-5`` is 1 in half precision. In float32 it is 1.0000100136, as
    in the reference.

    Args:
        aff (torch.Tensor): (B, Ndir, Nsrc) affinities.
        bg_pos (torch.Tensor): (B, Ndir, Nsrc) background positive pairs
            (bool or 0/1).
        fg_pos (torch.Tensor): Foreground positive pairs.
        neg (torch.Tensor): Negative pairs.

    Returns:
        dict[str, torch.Tensor]: Scalars ``loss_bg_pos_aff``,
        ``loss_fg_pos_aff``, ``loss_neg_aff`` and ``loss_total``.
    """
    with torch.autocast(aff.device.type, enabled=False):
        aff = aff.to(torch.promote_types(aff.dtype, torch.float32))
        bg_pos, fg_pos, neg = (m.to(aff.dtype) for m in (bg_pos, fg_pos, neg))
        pos_term = -torch.log(aff + _EPS)
        loss_bg = masked_pair_mean(pos_term, bg_pos)
        loss_fg = masked_pair_mean(pos_term, fg_pos)
        loss_neg = masked_pair_mean(-torch.log(1 + _EPS - aff), neg)
    return dict(
        loss_bg_pos_aff=loss_bg,
        loss_fg_pos_aff=loss_fg,
        loss_neg_aff=loss_neg,
        loss_total=loss_bg / 4 + loss_fg / 4 + loss_neg / 2)


def psa_scores_with_background(cams: Union[torch.Tensor, np.ndarray],
                               alpha: float) -> torch.Tensor:
    """Prepend PSA's background score ``(1 - max_c cam)**alpha``.

    Args:
        cams (torch.Tensor | np.ndarray): (K, H, W) CAMs of the image's
            classes, max-normalised (K may be 0: background 1).
        alpha (float): Power of the background score: small (PSA's ``la``,
            4) gives a weak background, large (``ha``, 32) a strong one,
            16 is the random walk's.

    Returns:
        torch.Tensor: (K + 1, H, W) scores, background first.
    """
    cams = torch.as_tensor(cams)
    if cams.shape[0] == 0:
        background = cams.new_ones((1, *cams.shape[1:]))
    else:
        background = (1 - cams.amax(dim=0, keepdim=True)).pow(alpha)
    return torch.cat([background, cams])


def psa_crf_scores(image: np.ndarray,
                   scores: np.ndarray,
                   iterations: int = 10,
                   **kernels: float) -> np.ndarray:
    """Refine PSA's class scores with a dense CRF (``crf_inference``).

    The unary is ``-log(clip(scores, 1e-5, 1))`` (the scores are not
    normalised first); the kernel defaults are PSA's for VOC
    (``gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=80,
    bilateral_srgb=13, bilateral_compat=10``); scale the spatial ones with
    the image size for much smaller images.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        scores (np.ndarray): (L, H, W) scores, background first.
        iterations (int): Mean-field iterations. Defaults to 10.
        **kernels (float): Kernel settings replacing PSA's.

    Returns:
        np.ndarray: (L, H, W) float32 posterior.
    """
    unary = unary_from_softmax(np.asarray(scores))
    return dense_crf(image, np.ascontiguousarray(unary), iterations,
                     **crf_kernels('psa', kernels))


def psa_label_from_scores(la_scores: np.ndarray,
                          ha_scores: np.ndarray,
                          keys: Optional[Sequence[int]] = None) -> np.ndarray:
    """AffinityNet training label from the ``la`` and ``ha`` score maps.

    The label is the argmax of ``la`` (weak background); pixels that ``la``
    calls background are unknown (255) unless ``ha`` (strong background)
    calls them background too (0); pixels without any score (every channel
    of both maps below 1e-5, e.g. padding) are unknown. PSA does this on
    the 8x8-pooled maps of each training crop (``VOC12AffDataset``).

    Args:
        la_scores (np.ndarray): (K + 1, H, W) scores, background first, with
            the weak background (e.g. :func:`psa_crf_scores` of
            :func:`psa_scores_with_background` with alpha 4).
        ha_scores (np.ndarray): (K + 1, H, W) the same with the strong
            background (alpha 32).
        keys (Sequence[int], optional): 0-based class of each foreground
            channel; None labels channel ``k`` as ``k``. Defaults to None.

    Returns:
        np.ndarray: (H, W) uint8 label: 0 = background, ``keys[k - 1] + 1``
        for channel ``k`` (``k`` without ``keys``), 255 = unknown.
    """
    la_scores, ha_scores = np.asarray(la_scores), np.asarray(ha_scores)
    la = np.argmax(la_scores, axis=0)
    ha = np.argmax(ha_scores, axis=0)
    if keys is None:
        label = la.astype(np.uint8)
    else:
        label = np.concatenate([[0], np.asarray(keys, np.int64) + 1
                                ]).astype(np.uint8)[la]
    label[la == 0] = 255
    label[ha == 0] = 0
    no_score = np.maximum(la_scores.max(0), ha_scores.max(0)) < _NO_SCORE
    label[no_score] = 255
    return label


def psa_la_ha_label(cams: np.ndarray,
                    keys: Sequence[int],
                    la_alpha: float = 4,
                    ha_alpha: float = 32,
                    image: Optional[np.ndarray] = None,
                    crf: Optional[CRFCallable] = None) -> np.ndarray:
    """PSA's confident label of an image from its CAMs (``infer_cls.py``
    followed by :func:`psa_label_from_scores`).

    Args:
        cams (np.ndarray): (K, H, W) full-resolution CAMs of the image's
            classes, max-normalised.
        keys (Sequence[int]): 0-based class of each CAM channel.
        la_alpha (float): Background power of the weak-background map.
            Defaults to 4.
        ha_alpha (float): Background power of the strong-background map.
            Defaults to 32.
        image (np.ndarray, optional): (H, W, 3) uint8 RGB image, needed by
            ``crf``. Defaults to None.
        crf (callable, optional): ``crf(image, scores) -> scores`` applied to
            both score maps, e.g. :func:`psa_crf_scores`; None applies none.
            Defaults to None.

    Returns:
        np.ndarray: (H, W) uint8 label: 0 = background, ``k + 1`` = class
        ``k``, 255 = unknown.
    """
    if crf is not None and image is None:
        raise ValueError('psa_la_ha_label needs `image` to run a CRF.')

    def scores(alpha: float) -> np.ndarray:
        with_bg = to_numpy(psa_scores_with_background(cams, alpha))
        return with_bg if crf is None else crf(image, with_bg)

    return psa_label_from_scores(scores(la_alpha), scores(ha_alpha), keys)


def psa_pool_scores(scores: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """Scores on AffinityNet's grid: zero-pad bottom/right to a multiple of
    ``stride`` and average ``stride x stride`` blocks (``infer_aff.py``).

    Args:
        scores (torch.Tensor): (C, H, W) scores.
        stride (int): Output stride of AffinityNet. Defaults to 8.

    Returns:
        torch.Tensor: (C, ceil(H / stride), ceil(W / stride)) scores.
    """
    height, width = scores.shape[-2:]
    padded = F.pad(scores, (0, -width % stride, 0, -height % stride))
    return F.avg_pool2d(padded[None], stride, stride)[0]


@torch.no_grad()
def psa_transition_matrix(aff: torch.Tensor,
                          grid_size: Sequence[int],
                          beta: float = 8,
                          radius: float = 5,
                          dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """AffinityNet's random-walk operator as a sparse CSR matrix.

    The reference builds the dense affinity matrix ``A`` (1 on the
    diagonal, ``aff`` at both (i, j) and (j, i), 0 for pairs that are not
    sources and partners of :func:`psa_pair_indices`), then the
    column-normalised ``T = A**beta / colsum``. Returned is its transpose
    ``D**-1 A**beta``, for column vectors (see
    :func:`mmwsss.functional.transition_matrix`). Not differentiable.

    Args:
        aff (torch.Tensor): (Ndir, Nsrc) or (1, Ndir, Nsrc) affinities of
            :func:`psa_pair_affinity`.
        grid_size (Sequence[int]): The feature grid ``(h, w)``.
        beta (float): Power of the affinities. Defaults to 8.
        radius (float): Radius of the pairs. Defaults to 5.
        dtype (torch.dtype): dtype of the values. Defaults to float64.

    Returns:
        torch.Tensor: (h*w, h*w) sparse CSR matrix on the device of ``aff``.
    """
    height, width = (int(s) for s in grid_size)
    path_index = get_path_index(radius, (height, width))
    aff = aff.reshape(-1, path_index.num_sources)
    _, src, _ = path_index.tensors(aff.device)
    order = torch.tensor(psa_pair_order(radius), device=aff.device)
    # Back to IRNet's channel order, indexed by the source pixel.
    weights = aff.new_zeros((len(order), height * width), dtype=torch.float64)
    weights[order.unsqueeze(1), src] = aff.double().pow(beta)
    return transition_from_pair_weights(weights, (height, width), radius,
                                        dtype)


@torch.no_grad()
def psa_random_walk(
        scores: torch.Tensor,
        aff: torch.Tensor,
        beta: float = 8,
        logt: int = 8,
        radius: float = 5,
        dtype: Union[str, torch.dtype] = torch.float64) -> torch.Tensor:
    """Propagate class scores by ``2**logt`` steps of AffinityNet's walk.

    The reference's ``scores @ T**(2**logt)`` (``infer_aff.py``, ``T`` of
    :func:`psa_transition_matrix`), computed with sparse steps. Background
    is a channel like the others. float64 by default; float32 is an option
    (see :func:`mmwsss.functional.random_walk`).

    Args:
        scores (torch.Tensor): (C, h, w) scores on the feature grid,
            background included (:func:`psa_pool_scores`).
        aff (torch.Tensor): (Ndir, Nsrc) or (1, Ndir, Nsrc) affinities of
            the grid.
        beta (float): Power of the affinities. Defaults to 8.
        logt (int): Log2 of the number of steps. Defaults to 8.
        radius (float): Radius of the pairs. Defaults to 5.
        dtype (str | torch.dtype): dtype of the walk. Defaults to float64.

    Returns:
        torch.Tensor: (C, h, w) propagated scores, dtype and device of
        ``scores``.
    """
    dtype = resolve_walk_dtype(dtype)
    transition = psa_transition_matrix(
        aff.to(scores.device), scores.shape[-2:], beta, radius, dtype)
    return propagate(transition, scores.to(dtype), logt).to(scores.dtype)


def psa_rw_to_label(rw: torch.Tensor,
                    keys: Sequence[int],
                    image_size: Sequence[int],
                    stride: int = 8) -> np.ndarray:
    """Pseudo-mask from AffinityNet's walk: bilinear upsampling to the
    padded image (``align_corners=False``), crop, argmax.

    Args:
        rw (torch.Tensor): (K + 1, h, w) propagated scores, background
            first.
        keys (Sequence[int]): 0-based class of each foreground channel.
        image_size (Sequence[int]): Image size ``(H, W)``.
        stride (int): Output stride of AffinityNet. Defaults to 8.

    Returns:
        np.ndarray: (H, W) uint8 label, 0 = background, ``k + 1`` = class
        ``k``.
    """
    height, width = image_size
    up = F.interpolate(
        rw[None], size=(rw.shape[-2] * stride, rw.shape[-1] * stride),
        mode='bilinear', align_corners=False)[0, :, :height, :width]
    lut = np.concatenate([[0], np.asarray(keys, dtype=np.int64) + 1])
    return lut[to_numpy(up.argmax(0))].astype(np.uint8)
