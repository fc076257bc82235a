# Copyright (c) mmwsss contributors. All rights reserved.
"""Deep seeded region growing (DSRG): pure functions.

`Weakly-Supervised Semantic Segmentation Network with Deep Seeded Region
Growing <https://arxiv.org/abs/1804.04882>`_ (Huang et al., CVPR 2018).
The rules, thresholds and quirks are those of the original Caffe/Theano
layers (``pylayers.py``), checked against golden
``dsrg_pylayers.npz``:

- the network's softmax gets ``+1e-4`` and is renormalised
  (:func:`dsrg_softmax`);
- a dense CRF refines the probabilities at the score-map resolution, with
  the *probabilities* as unary energies (``-p``, not ``-log p``) and DSRG's
  kernels divided by ``scale_factor`` (:func:`dsrg_crf_refine`);
- the seeds grow into 8-connected regions of confident CRF predictions
  (:func:`dsrg_region_growing`);
- the balanced seed loss averages background and foreground seeds separately
  (:func:`balanced_seed_loss`); the constrain loss is a clipped KL divergence
  to the CRF result (:func:`constrain_loss`), whose gradient also flows
  through the CRF as ``(1 - Q) * grad`` (:func:`dsrg_crf_log`).

Seeds are multi-hot (C, h, w) cue maps: channel 0 is the background,
channel ``k + 1`` foreground class ``k``; a pixel may carry several cues.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import scipy.ndimage as ndi
import torch
from torch import Tensor

from mmwsss.utils import to_numpy
from ..irn.ir_label import cams_to_ir_label
from ..utils.crf import crf_kernels, dense_crf

ArrayLike = Union[Tensor, np.ndarray]
# Probability floor of the reference's softmax, CRF input and CRF output.
PROB_FLOOR = 1e-4
# The reference's limits on Q / P in the constrain loss.
CONSTRAIN_CLIP = (0.05, 20.0)
# 8-connectivity, as the reference's CC_labeling_8.
_CONNECT_8 = np.ones((3, 3), dtype=bool)


def dsrg_softmax(logits: Tensor) -> Tensor:
    """Softmax over classes with DSRG's floor: ``(softmax + 1e-4) / sum``.

    Args:
        logits (Tensor): (N, C, h, w) class scores.

    Returns:
        Tensor: (N, C, h, w) probabilities, each at least ~1e-4.
    """
    probs = torch.softmax(logits, dim=1) + PROB_FLOOR
    return probs / probs.sum(dim=1, keepdim=True)


def balanced_seed_loss(probs: Tensor, seeds: Tensor) -> Tensor:
    """DSRG's balanced seed loss (dissertation eq. 2.3).

    The mean log-probability of the background seeds and that of the
    foreground seeds are averaged over the batch separately and added, so a
    large background does not outweigh the objects. An image without
    seeds of a kind contributes 0 to that term (counts floored at 1e-4).

    Args:
        probs (Tensor): (N, C, h, w) probabilities (:func:`dsrg_softmax`).
        seeds (Tensor): (N, C, h, w) 0/1 cues, channel 0 = background.

    Returns:
        Tensor: Scalar loss.
    """
    seeds = seeds.to(probs.dtype)
    log_probs = torch.log(probs)
    bg_count = seeds[:, 0].sum(dim=(1, 2)).clamp_min(PROB_FLOOR)
    fg_count = seeds[:, 1:].sum(dim=(1, 2, 3)).clamp_min(PROB_FLOOR)
    bg = (seeds[:, 0] * log_probs[:, 0]).sum(dim=(1, 2)) / bg_count
    fg = (seeds[:, 1:] * log_probs[:, 1:]).sum(dim=(1, 2, 3)) / fg_count
    return -bg.mean() - fg.mean()


def sec_seed_loss(probs: Tensor, seeds: Tensor) -> Tensor:
    """SEC's (unbalanced) seed loss: ``-mean_b(sum(S log P) / sum(S))``.

    Args:
        probs (Tensor): (N, C, h, w) probabilities.
        seeds (Tensor): (N, C, h, w) 0/1 cues; every image needs a seed.

    Returns:
        Tensor: Scalar loss.
    """
    seeds = seeds.to(probs.dtype)
    per_image = (seeds * torch.log(probs)).sum(dim=(1, 2, 3))
    return -(per_image / seeds.sum(dim=(1, 2, 3))).mean()


def constrain_loss(probs: Tensor, crf_log_probs: Tensor) -> Tensor:
    """DSRG's constrain-to-boundary loss (dissertation eq. 2.4).

    ``mean_{n,h,w} sum_c Q log(clip(Q / P, 0.05, 20))`` with ``Q =
    exp(crf_log_probs)``: a KL divergence from the CRF result whose ratio is
    clipped as in the reference (no gradient where the clip is active).

    Args:
        probs (Tensor): (N, C, h, w) probabilities ``P``.
        crf_log_probs (Tensor): (N, C, h, w) log CRF probabilities
            (:func:`dsrg_crf_log`).

    Returns:
        Tensor: Scalar loss.
    """
    crf_probs = torch.exp(crf_log_probs)
    ratio = torch.clamp(crf_probs / probs, *CONSTRAIN_CLIP)
    return (crf_probs * torch.log(ratio)).sum(dim=1).mean()


def crf_image(image: np.ndarray, size: Tuple[int, int],
              pixel_mean: Sequence[float] = (0., 0., 0.)) -> np.ndarray:
    """The image as the DSRG CRF sees it at the score-map size.

    Bilinear ``scipy.ndimage.zoom`` (``order=1``) of the given image to
    ``size``, then ``+ pixel_mean`` and rounding, in the reference's order
    (it zooms the mean-subtracted network input).

    Args:
        image (np.ndarray): (3, H, W) float image, mean-subtracted when
            ``pixel_mean`` is given.
        size (tuple[int, int]): Score-map (h, w).
        pixel_mean (Sequence[float]): Per-channel mean added back after the
            zoom. Defaults to (0, 0, 0).

    Returns:
        np.ndarray: (h, w, 3) uint8 image.
    """
    _, height, width = image.shape
    zoomed = ndi.zoom(
        np.asarray(image), (1, size[0] / height, size[1] / width), order=1)
    zoomed = np.round(
        zoomed.transpose(1, 2, 0) + np.asarray(pixel_mean, dtype=np.float64))
    return zoomed.astype(np.uint8)


def dsrg_crf_refine(probs: np.ndarray,
                    image: np.ndarray,
                    scale_factor: float = 12.0,
                    iterations: int = 10,
                    **kernels: float) -> np.ndarray:
    """Dense-CRF refinement of DSRG's probabilities (``DSRGLayer.refinement``).

    The probabilities are the unary energies with a minus sign (``-p``, the
    reference's choice, not ``-log p``); the kernels are the ``'dsrg'`` row
    of the CRF kernel table (bilateral weight 10, sxy 80 / scale_factor,
    srgb 13; Gaussian weight 3, sxy 3 / scale_factor). The input must be
    floored at 1e-4 (the reference clamps it in place); the posterior is
    floored at 1e-4 and renormalised.

    Args:
        probs (np.ndarray): (C, h, w) float32 probabilities.
        image (np.ndarray): (h, w, 3) uint8 image at the score-map size
            (:func:`crf_image`).
        scale_factor (float): Divides the kernels' spatial stds (the
            network's stride relative to the CRF's design size).
            Defaults to 12.
        iterations (int): Mean-field iterations. Defaults to 10.
        **kernels (float): Overrides of the kernel settings (names of
            :data:`mmwsss.models.utils.crf.CRF_KERNEL_NAMES`).

    Returns:
        np.ndarray: (C, h, w) float64 refined probabilities.
    """
    num_classes = probs.shape[0]
    settings = crf_kernels('dsrg', kernels)
    settings['gaussian_sxy'] /= scale_factor
    settings['bilateral_sxy'] /= scale_factor
    unary = np.ascontiguousarray(
        -np.asarray(probs, dtype=np.float32).reshape(num_classes, -1))
    refined = dense_crf(image, unary, iterations, **settings).astype(
        np.float64)
    refined[refined < PROB_FLOOR] = PROB_FLOOR
    return refined / refined.sum(axis=0, keepdims=True)


class _CRFLog(torch.autograd.Function):
    """``log`` of a CRF result computed off the graph; the reference's
    backward ``(1 - Q) * grad`` (``CRFLayer.backward``) to the probs."""

    @staticmethod
    def forward(ctx, probs: Tensor, refined: Tensor) -> Tensor:
        ctx.save_for_backward(refined)
        return torch.log(refined)

    @staticmethod
    def backward(ctx, grad: Tensor):
        refined, = ctx.saved_tensors
        return (1 - refined) * grad, None


def dsrg_crf_log(probs: Tensor, refined: Tensor) -> Tensor:
    """Log CRF probabilities with the reference's gradient to ``probs``.

    DSRG's ``CRFLayer`` returns ``log Q`` and back-propagates
    ``(1 - Q) * grad`` to the softmax, as coded in the reference (not the
    derivative of the CRF). The constrain loss thus also reaches the network
    through this path.

    Args:
        probs (Tensor): (N, C, h, w) probabilities the CRF refined.
        refined (Tensor): (N, C, h, w) CRF result ``Q`` (no gradient), on the
            device and in the dtype of ``probs``.

    Returns:
        Tensor: (N, C, h, w) ``log Q``.
    """
    return _CRFLog.apply(probs, refined.detach())


def dsrg_label_map(labels: np.ndarray, seeds: np.ndarray, probs: np.ndarray,
                   th1: float = 0.99, th2: float = 0.85) -> np.ndarray:
    """The label map region growing works on (seeds, then confident pixels).

    Seeded pixels get ``channel + 1`` (the highest channel where a pixel has
    several cues). Then every pixel whose best probability among the image's
    classes exceeds ``th2`` takes that class, background only above ``th1``.

    Args:
        labels (np.ndarray): (C,) 0/1 image classes, background included.
        seeds (np.ndarray): (C, h, w) 0/1 cues.
        probs (np.ndarray): (C, h, w) (CRF-refined) probabilities.
        th1 (float): Confidence a pixel needs to become background.
            Defaults to 0.99.
        th2 (float): Confidence a pixel needs to become a foreground class.
            Defaults to 0.85.

    Returns:
        np.ndarray: (h, w) uint8: 0 = none, ``c + 1`` = channel ``c``.
    """
    classes = np.flatnonzero(np.asarray(labels) == 1)
    label_map = np.zeros(probs.shape[1:], dtype=np.uint8)
    for channel in range(seeds.shape[0]):
        label_map[seeds[channel] == 1] = channel + 1
    image_probs = probs[classes]
    best = classes[image_probs.argmax(axis=0)]
    confidence = image_probs.max(axis=0)
    grow_fg = (confidence > th2) & (best != 0)
    grow_bg = (confidence > th1) & (best == 0)
    label_map[grow_fg] = best[grow_fg] + 1
    label_map[grow_bg] = 1
    return label_map


def dsrg_region_growing(labels: np.ndarray,
                        seeds: np.ndarray,
                        probs: np.ndarray,
                        th1: float = 0.99,
                        th2: float = 0.85) -> np.ndarray:
    """Grow seeds into confident regions (``generate_seed_step``).

    For each image class in ascending order, the 8-connected regions of
    :func:`dsrg_label_map` of that class that touch one of its seeds join
    its seeds, except pixels already seeded for exactly one other class (so
    the result depends on class order, as in the reference). Seeds are only
    added, never removed.

    Args:
        labels (np.ndarray): (C,) 0/1 image classes, background included.
        seeds (np.ndarray): (C, h, w) 0/1 cues.
        probs (np.ndarray): (C, h, w) (CRF-refined) probabilities.
        th1 (float): Background confidence. Defaults to 0.99.
        th2 (float): Foreground confidence. Defaults to 0.85.

    Returns:
        np.ndarray: (C, h, w) uint8 grown cues.
    """
    grown = np.array(seeds, dtype=np.uint8)
    label_map = dsrg_label_map(labels, grown, probs, th1, th2)
    for channel in np.flatnonzero(np.asarray(labels) == 1):
        region = label_map == channel + 1
        components, _ = ndi.label(region, structure=_CONNECT_8)
        touched = np.unique(components[region & (grown[channel] == 1)])
        keep = np.isin(components, touched) & region
        seeded_elsewhere = (grown[channel] != 1) & (grown.sum(axis=0) == 1)
        grown[channel][keep & ~seeded_elsewhere] = 1
    return grown


def seed_label_to_cues(seed_label: np.ndarray,
                       num_classes: int) -> np.ndarray:
    """One-hot cues of a seed label map.

    Args:
        seed_label (np.ndarray): (h, w) labels, 255 = no seed.
        num_classes (int): Channels, background included.

    Returns:
        np.ndarray: (num_classes, h, w) uint8 0/1 cues.
    """
    return (seed_label[None] == np.arange(num_classes)[:, None, None]).astype(
        np.uint8)


def dsrg_seed_label(high_res: np.ndarray,
                    keys: Sequence[int],
                    fg_threshold: float = 0.2,
                    bg_threshold: float = 0.05,
                    saliency: Optional[np.ndarray] = None,
                    saliency_bg_threshold: float = 0.06) -> np.ndarray:
    """DSRG's initial seeds from CAMs (and saliency) as a label map.

    Foreground: pixels whose max-normalised CAM reaches ``fg_threshold``,
    labelled with the CAM argmax (one label per pixel; the reference's cue
    files may hold several). Background: with a saliency map, the pixels
    whose saliency is below ``saliency_bg_threshold`` (DSRG's rule, its
    saliency scaled to [0, 1]); without one, the pixels where every CAM is
    below ``bg_threshold`` (IRN's rule). Foreground wins where both hold.
    Everything else is unseeded (255).

    Args:
        high_res (np.ndarray): (K, H, W) max-normalised CAMs of the image's
            classes.
        keys (Sequence[int]): 0-based class of each CAM channel.
        fg_threshold (float): Foreground CAM threshold. Defaults to 0.2.
        bg_threshold (float): Background CAM threshold, used without
            saliency. Defaults to 0.05.
        saliency (np.ndarray, optional): (H, W) saliency in [0, 1].
            Defaults to None.
        saliency_bg_threshold (float): Saliency below which a pixel is a
            background seed. Defaults to 0.06.

    Returns:
        np.ndarray: (H, W) uint8: 0 = background, ``k + 1`` = class ``k``,
        255 = unseeded.
    """
    if saliency is None:
        return cams_to_ir_label(high_res, keys, fg_threshold, bg_threshold)
    foreground = cams_to_ir_label(high_res, keys, fg_threshold, fg_threshold)
    seeds = np.where(np.asarray(saliency) < saliency_bg_threshold, 0, 255)
    return np.where(foreground > 0, foreground, seeds).astype(np.uint8)


def dsrg_grow_batch(labels: ArrayLike, seed_labels: ArrayLike, probs: Tensor,
                    images: Tensor, pixel_mean: Sequence[float],
                    scale_factor: float, th1: float,
                    th2: float) -> Tuple[np.ndarray, np.ndarray]:
    """CRF refinement and region growing of a batch, on the host.

    One transfer of each input per batch; the per-image work is numpy.

    Args:
        labels (Tensor | np.ndarray): (N, C) 0/1 image classes, background
            included.
        seed_labels (Tensor | np.ndarray): (N, h, w) seed labels (255 =
            none) at the score-map size.
        probs (Tensor): (N, C, h, w) probabilities (floored at 1e-4).
        images (Tensor): (N, 3, H, W) mean-subtracted images.
        pixel_mean (Sequence[float]): Mean added back for the CRF.
        scale_factor (float): See :func:`dsrg_crf_refine`.
        th1 (float): Background confidence of region growing.
        th2 (float): Foreground confidence of region growing.

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 (N, C, h, w) CRF result and
        uint8 (N, C, h, w) grown cues.
    """
    labels = to_numpy(labels)
    seed_labels = to_numpy(seed_labels)
    probs = to_numpy(probs, np.float32)
    images = to_numpy(images)
    num_classes, size = probs.shape[1], probs.shape[2:]
    refined = np.stack([
        dsrg_crf_refine(p, crf_image(img, size, pixel_mean), scale_factor)
        for p, img in zip(probs, images)
    ])
    grown = np.stack([
        dsrg_region_growing(lab, seed_label_to_cues(seed, num_classes), ref,
                            th1, th2)
        for lab, seed, ref in zip(labels, seed_labels, refined)
    ])
    return refined, grown
