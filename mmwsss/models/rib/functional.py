# Copyright (c) mmwsss contributors. All rights reserved.
"""RIB: reducing the information bottleneck (jbeomlee93/RIB).

Pieces of the per-image fine-tuning of ``obtain_RIB_CAM.py``: the global
non-discriminative region pooling (GNDRP, ``misc/torchutils.py gndp2d``), the
loss without the final sigmoid, the two early stops of the loop, the
disjoint-image lookup and the poly learning rate. The loop itself is
:class:`mmwsss.RIBClassifier`.
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F


def gndrp_pool(raw_maps: torch.Tensor,
               labels: torch.Tensor,
               tau: float = 0.4) -> torch.Tensor:
    """Global non-discriminative region pooling of raw class maps.

    ``z_bc = (1 / (h w)) sum_p R_bc(p) * 1[m_bc(p) < tau]`` with
    ``m = R_bc / max_p R_bc`` (no gradient) for the classes with
    ``labels[b, c] > 0`` and ``m = -1`` otherwise, so non-label classes get
    plain global average pooling. The denominator is always ``h w``. As in
    the reference there is no guard for ``max_p R_bc <= 0``: a label class
    whose map is negative everywhere has ``m >= 1`` and pools to 0. Unlike
    the reference (hard-coded 20 classes, which turns classes >= 20 into
    GAP on COCO) any number of classes is handled.

    Args:
        raw_maps (torch.Tensor): (B, C, h, w) raw (signed) class maps.
        labels (torch.Tensor): (B, C) multi-hot labels, or (C,) / (1, C)
            shared by all rows (the target image's classes).
        tau (float): Threshold on the max-normalised map: pixels at or above
            it are dropped. Defaults to 0.4.

    Returns:
        torch.Tensor: (B, C) pooled logits, differentiable w.r.t.
        ``raw_maps``.
    """
    labels = torch.as_tensor(labels, device=raw_maps.device)
    is_label = (labels > 0).reshape(-1, raw_maps.shape[1])[:, :, None, None]
    with torch.no_grad():
        peak = raw_maps.amax((2, 3), keepdim=True)
        normalized = torch.where(is_label, raw_maps / peak,
                                 raw_maps.new_tensor(-1.0))
    kept = raw_maps * (normalized < tau).to(raw_maps.dtype)
    return kept.sum((2, 3)) / (raw_maps.shape[2] * raw_maps.shape[3])


def gndrp_logits(
        feats: torch.Tensor,
        classifier_weight: torch.Tensor,
        labels: Optional[torch.Tensor] = None,
        tau: float = 0.4,
        classifier_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Class logits of a 1x1-conv CAM head with GNDRP pooling.

    The function a training head calls: the raw maps ``conv1x1(feats)`` are
    pooled with :func:`gndrp_pool` when ``labels`` are given (training), and
    with plain global average pooling otherwise (prediction).

    Args:
        feats (torch.Tensor): (B, D, h, w) features.
        classifier_weight (torch.Tensor): (C, D) or (C, D, 1, 1) weight.
        labels (torch.Tensor, optional): (B, C) or (C,) multi-hot labels.
            Defaults to None (GAP).
        tau (float): GNDRP threshold. Defaults to 0.4.
        classifier_bias (torch.Tensor, optional): (C,) bias.
            Defaults to None.

    Returns:
        torch.Tensor: (B, C) logits.
    """
    weight = classifier_weight.reshape(classifier_weight.shape[0], -1, 1, 1)
    raw_maps = F.conv2d(feats, weight, classifier_bias)
    if labels is None:
        return raw_maps.mean((2, 3))
    return gndrp_pool(raw_maps, labels, tau)


# Double-sided saturating activations of RIB's loss ablation, mapped to
# (0, 1); tanh and softsign by the affine map (a + 1) / 2 of the paper.
RIB_LOSS_ACTIVATIONS = {
    'sigmoid': torch.sigmoid,
    'tanh': lambda z: (torch.tanh(z) + 1) / 2,
    'softsign': lambda z: (F.softsign(z) + 1) / 2,
}


def rib_loss(logits: torch.Tensor,
             labels: torch.Tensor,
             *,
             activation: Optional[str] = None) -> torch.Tensor:
    """RIB's loss: minus the sum of the label-class logits.

    No sigmoid and no term for the absent classes (the "last activation" is
    removed so the logits are not saturated). ``activation`` instead gives
    the fine-tuning losses RIB is compared with (dissertation Table 3.9a):
    the mean binary cross-entropy of all classes on ``a(logits)``, with
    ``a`` = sigmoid, ``(tanh + 1) / 2`` or ``(softsign + 1) / 2``.

    Args:
        logits (torch.Tensor): (N, C) logits (GNDRP-pooled in RIB).
        labels (torch.Tensor): (N, C) multi-hot labels.
        activation (str, optional): None (RIB's loss), ``'sigmoid'``,
            ``'tanh'`` or ``'softsign'`` (BCE ablations). Defaults to None.

    Returns:
        torch.Tensor: Scalar ``-sum(logits * labels)``, or the mean BCE.
    """
    labels = torch.as_tensor(labels, dtype=logits.dtype, device=logits.device)
    if activation is None:
        return -(logits * labels).sum()
    if activation not in RIB_LOSS_ACTIVATIONS:
        raise ValueError(f'activation must be None or one of '
                         f'{sorted(RIB_LOSS_ACTIVATIONS)}, got {activation!r}')
    if activation == 'sigmoid':
        # the stable form of BCE(sigmoid(z), y)
        return F.binary_cross_entropy_with_logits(logits,
                                                  labels.expand_as(logits))
    probs = RIB_LOSS_ACTIVATIONS[activation](logits)
    return F.binary_cross_entropy(probs, labels.expand_as(logits))


def rib_target_stop(target_logits: torch.Tensor,
                    target_labels: torch.Tensor,
                    stop_th: float = 600.0) -> Tuple[torch.Tensor, bool]:
    """RIB's logit early stop (the code's stand-in for the paper's margin).

    The target rows are the image and flip copies at the scales used in the
    loss (1.0, 1.5 and 2.0: 6 rows in the reference). Fine-tuning stops
    after the current step when ``|sum(logits * labels)| > stop_th``
    (600 on VOC, 1000 on COCO).

    Args:
        target_logits (torch.Tensor): (N, C) logits of the target rows.
        target_labels (torch.Tensor): (N, C) or (C,) labels of those rows.
        stop_th (float): Threshold. Defaults to 600.0.

    Returns:
        tuple[torch.Tensor, bool]: The detached sum and whether to stop.
    """
    labels = torch.as_tensor(
        target_labels, dtype=target_logits.dtype, device=target_logits.device)
    total = (target_logits.detach() * labels).sum()
    return total, bool(total.abs() > stop_th)


def rib_explosion_stop(cam: torch.Tensor,
                       keys: Union[Sequence[int], torch.Tensor],
                       explode_th: float = 0.3,
                       explode_ratio: float = 0.7) -> bool:
    """RIB's undocumented "explosion" stop on the scale-1.0 CAM.

    Each ground-truth class map is divided by its max + 1e-5 and thresholded
    at ``> explode_th``; when the union covers more than ``explode_ratio`` of
    the pixels the loop stops at once (checked from the second step on).

    Args:
        cam (torch.Tensor): (C, h, w) scale-1.0 CAM ``ReLU(R[0]) +
            hflip(ReLU(R[1]))`` of the current weights.
        keys (Sequence[int] | torch.Tensor): Ground-truth class indices.
        explode_th (float): Per-class threshold. Defaults to 0.3.
        explode_ratio (float): Covered-area ratio that stops.
            Defaults to 0.7 (0.8 on COCO).

    Returns:
        bool: Whether the CAM has exploded.
    """
    keys = torch.as_tensor(keys, dtype=torch.long, device=cam.device)
    maps = cam.detach()[keys]
    maps = maps / (maps.amax((1, 2), keepdim=True) + 1e-5)
    covered = (maps > explode_th).any(0)
    return bool(covered.float().mean() > explode_ratio)


def disjoint_image_indices(label_matrix: np.ndarray,
                           keys: Union[Sequence[int], np.ndarray]
                           ) -> np.ndarray:
    """Indices of the images that share no class with ``keys``.

    RIB fine-tunes on the target image together with images whose classes
    are all absent from the target (the reference's ``p_disjoint = 1``). The
    reference scans the label list in Python for every target image; with a
    (N, C) label matrix built once this is one vectorised test.

    Args:
        label_matrix (np.ndarray): (N, C) boolean (or multi-hot) image-level
            labels of the candidate images.
        keys (Sequence[int] | np.ndarray): The target's class indices.

    Returns:
        np.ndarray: int64 indices of the rows with no label in ``keys``, in
        increasing order.
    """
    label_matrix = np.asarray(label_matrix) > 0
    keys = np.asarray(keys, dtype=np.int64).reshape(-1)
    shared = label_matrix[:, keys].any(axis=1)
    return np.flatnonzero(~shared).astype(np.int64)


def rib_poly_lr(base_lr: float,
                step: int,
                max_step: int,
                power: float = 0.9) -> float:
    """Learning rate of step ``step`` (0-based) of RIB's poly schedule.

    The reference ``PolyOptimizer`` sets ``base_lr * (1 - step / max_step)
    ** power`` before each step, with ``max_step`` = the number of RIB
    iterations K (0 from ``max_step`` on).

    Args:
        base_lr (float): Initial learning rate of the parameter group.
        step (int): Number of completed steps.
        max_step (int): Total number of steps.
        power (float): Poly power. Defaults to 0.9.

    Returns:
        float: The learning rate.
    """
    return base_lr * max(1 - step / max_step, 0.0)**power
