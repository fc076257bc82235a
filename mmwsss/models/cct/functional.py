# Copyright (c) mmwsss contributors. All rights reserved.
"""The pieces of cross-consistency training (CCT) as plain functions.

`Semi-Supervised Semantic Segmentation with Cross-Consistency Training
<https://arxiv.org/abs/2003.09005>`_ (Ouali et al., CVPR 2020): the encoder
output ``z`` of an unlabelled image is perturbed in several ways, each
perturbed copy is decoded by its own auxiliary decoder, and every auxiliary
prediction is pulled towards the main decoder's prediction of the clean
``z``. These functions perturb features, build the guidance masks from the
main prediction, and compute the consistency loss and its ramp-up weight.
"""
import math
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor


def cct_rampup_weight(iteration: int, rampup_iters: int,
                      final_weight: float) -> float:
    """Weight of the unsupervised loss at ``iteration`` (sigmoid ramp-up).

    ``final_weight * exp(-5 (1 - t)^2)`` with ``t = iteration /
    rampup_iters`` clipped to [0, 1]: the weight grows smoothly from
    ``final_weight * e^-5`` to ``final_weight`` over the first
    ``rampup_iters`` iterations and stays there.

    Args:
        iteration (int): Current (0-based) iteration.
        rampup_iters (int): Length of the ramp-up; 0 means no ramp-up.
        final_weight (float): Weight after the ramp-up.

    Returns:
        float: The weight.
    """
    if rampup_iters <= 0:
        return float(final_weight)
    t = min(max(iteration / rampup_iters, 0.), 1.)
    return float(final_weight) * math.exp(-5. * (1. - t)**2)


def cct_consistency_loss(aux_logits: Tensor, main_logits: Tensor) -> Tensor:
    """Mean squared error between the softmax of two predictions.

    The main prediction is the target: no gradient flows into it.

    Args:
        aux_logits (Tensor): (N, C, H, W) logits of an auxiliary decoder.
        main_logits (Tensor): (N, C, H, W) logits of the main decoder.

    Returns:
        Tensor: Scalar, the mean over every element.
    """
    target = F.softmax(main_logits.detach(), dim=1)
    return F.mse_loss(F.softmax(aux_logits, dim=1), target)


def feature_noise(features: Tensor, noise_range: float = 0.3) -> Tensor:
    """F-Noise: ``z + z * n``, ``n ~ U(-noise_range, noise_range)``.

    The noise is multiplied by the features so that its amplitude follows
    theirs.

    Args:
        features (Tensor): (N, C, H, W) encoder output.
        noise_range (float): Half-width of the uniform noise.

    Returns:
        Tensor: The perturbed features.
    """
    noise = (torch.rand_like(features) * 2. - 1.) * noise_range
    return features + features * noise


def feature_dropout(features: Tensor,
                    threshold_range: Tuple[float, float] = (0.6, 0.9)
                    ) -> Tensor:
    """F-Drop: zero the most activated positions of each image.

    The channel mean of ``z`` is an attention map; a threshold
    ``gamma * max`` with ``gamma ~ U(threshold_range)`` (one per image)
    keeps the positions below it and zeroes the others.

    Args:
        features (Tensor): (N, C, H, W) encoder output.
        threshold_range (tuple[float, float]): Range of ``gamma``.

    Returns:
        Tensor: The perturbed features.
    """
    attention = features.mean(dim=1, keepdim=True)
    peak = attention.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    low, high = threshold_range
    gamma = low + (high - low) * torch.rand(
        peak.shape, dtype=features.dtype, device=features.device)
    return features * (attention < gamma * peak).to(features.dtype)


def foreground_mask(main_logits: Tensor, size: Sequence[int]) -> Tensor:
    """Where the main prediction sees an object, at the feature size.

    Args:
        main_logits (Tensor): (N, C, h, w) main decoder logits, class 0 the
            background.
        size (Sequence[int]): (H, W) of the features to mask.

    Returns:
        Tensor: (N, 1, H, W) float mask, 1 on predicted objects.
    """
    objects = (main_logits.argmax(dim=1, keepdim=True) > 0).to(
        main_logits.dtype)
    return F.interpolate(objects, size=tuple(size), mode='nearest')


def context_masking(features: Tensor, main_logits: Tensor) -> Tensor:
    """Con-Msk: keep the predicted objects, zero their context.

    Args:
        features (Tensor): (N, C, H, W) encoder output.
        main_logits (Tensor): (N, K, h, w) main decoder logits.

    Returns:
        Tensor: The perturbed features.
    """
    return features * foreground_mask(main_logits, features.shape[2:])


def object_masking(features: Tensor, main_logits: Tensor) -> Tensor:
    """Obj-Msk: zero the predicted objects, keep their context.

    Args:
        features (Tensor): (N, C, H, W) encoder output.
        main_logits (Tensor): (N, K, h, w) main decoder logits.

    Returns:
        Tensor: The perturbed features.
    """
    return features * (1. - foreground_mask(main_logits, features.shape[2:]))


def guided_cutout_mask(foreground: np.ndarray,
                       erase_ratio: float = 0.4,
                       rng: Optional[np.random.Generator] = None
                       ) -> np.ndarray:
    """Keep-mask of G-Cutout: a box cut out of each predicted object.

    Each 8-connected component of ``foreground`` is an object; inside its
    bounding box a box of ``erase_ratio`` times its height and width is
    placed at random and set to 0 (boxes too small to hold one pixel lose
    nothing).

    Args:
        foreground (np.ndarray): (N, H, W) bool, the predicted objects.
        erase_ratio (float): Side of the cut box relative to the object's
            bounding box.
        rng (np.random.Generator, optional): Source of the box positions.
            Defaults to numpy's global random state (seeded by the runner).

    Returns:
        np.ndarray: (N, H, W) float32, 0 inside the cut boxes, 1 elsewhere.
    """
    keep = np.ones(foreground.shape, np.float32)
    eight_connected = np.ones((3, 3), bool)
    for i, objects in enumerate(foreground):
        components, _ = ndimage.label(objects, structure=eight_connected)
        for rows, cols in ndimage.find_objects(components):
            box_h, box_w = rows.stop - rows.start, cols.stop - cols.start
            cut_h, cut_w = int(box_h * erase_ratio), int(box_w * erase_ratio)
            top = rows.start + _uniform_int(box_h - cut_h, rng)
            left = cols.start + _uniform_int(box_w - cut_w, rng)
            keep[i, top:top + cut_h, left:left + cut_w] = 0.
    return keep


def _uniform_int(high: int, rng: Optional[np.random.Generator]) -> int:
    """A uniform integer in [0, high]."""
    draw = rng.random() if rng is not None else np.random.random()
    return min(int(draw * (high + 1)), high)


def _unit_directions(d: Tensor) -> Tensor:
    """Each sample's tensor divided by its L2 norm.

    The norm is only kept off zero, not offset: the gradient of the
    divergence at ``xi = 1e-6`` is tiny (it scales with ``xi``), and adding
    an epsilon such as 1e-8 to its norm would shrink the perturbation far
    below ``eps``.
    """
    norms = d.flatten(1).norm(dim=1).view(-1, *([1] * (d.dim() - 1)))
    return d / norms.clamp(min=torch.finfo(d.dtype).tiny)


def vat_perturbation(features: Tensor,
                     decoder: Callable[[Tensor], Tensor],
                     xi: float = 1e-6,
                     eps: float = 2.0) -> Tensor:
    """I-VAT: the perturbation of ``z`` that changes the prediction most.

    One power iteration of virtual adversarial training on the features:
    from a random unit direction ``d``, the gradient of ``KL(p(z) ||
    p(z + xi d))`` with respect to ``d`` gives the most sensitive direction,
    scaled to norm ``eps`` per image. ``decoder`` is the decoder that will
    read the perturbed features; its parameters receive no gradient.

    Args:
        features (Tensor): (N, C, H, W) encoder output.
        decoder (Callable): Maps features to (N, K, h, w) logits.
        xi (float): Size of the finite-difference step.
        eps (float): Norm of the returned perturbation.

    Returns:
        Tensor: (N, C, H, W) detached perturbation ``r_adv``.
    """
    clean = features.detach()
    with torch.no_grad():
        target = F.softmax(decoder(clean), dim=1)
    direction = _unit_directions(torch.rand_like(clean) - 0.5)
    direction.requires_grad_(True)
    with torch.enable_grad():
        log_probs = F.log_softmax(decoder(clean + xi * direction), dim=1)
        divergence = F.kl_div(log_probs, target, reduction='batchmean')
        grad, = torch.autograd.grad(divergence, direction)
    return eps * _unit_directions(grad.detach())
