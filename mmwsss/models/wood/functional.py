# Copyright (c) mmwsss contributors. All rights reserved.
"""W-OoD: feature clustering, distance loss and the OoD branch.

Everything is plain torch (the reference uses pykeops for the K-means).
"""
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

# Elements of one (rows, k, dim) difference block in `kmeans`: bounds the
# memory of the exact per-element distances (64 MiB in float32).
_KMEANS_BLOCK = 1 << 24
# Parts of the distance loss kept by `wood_distance_loss(terms=...)`.
WOOD_DISTANCE_TERMS = ('both', 'pull', 'push')


def _squared_distances(points: torch.Tensor,
                       centers: torch.Tensor) -> torch.Tensor:
    # Exact sum((x - c)^2), not the |x|^2 - 2xc + |c|^2 expansion: the
    # expansion rounds differently and can flip near-tie assignments.
    rows = max(1, _KMEANS_BLOCK // max(1, centers.numel()))
    return torch.cat([((chunk[:, None] - centers[None])**2).sum(-1)
                      for chunk in points.split(rows)])


def kmeans(points: Union[torch.Tensor, np.ndarray],
           k: int,
           iterations: int = 10) -> Tuple[torch.Tensor, torch.Tensor]:
    """Euclidean K-means (Lloyd) initialised with the first ``k`` points.

    Each iteration assigns every point to its nearest centre (squared
    Euclidean distance, first centre on ties) and then moves every centre to
    the mean of its points. The returned labels are those of the last
    assignment step, i.e. relative to the centres *before* the final update,
    as in the W-OoD reference.

    An empty cluster keeps its previous centre. The reference divides by its
    zero count and turns that centre into NaN, which then never attracts a
    point again; keeping the centre is the safe equivalent whenever no
    cluster empties (the golden case) and stays finite otherwise.

    Args:
        points (torch.Tensor | np.ndarray): (N, D) floating-point points,
            N >= k.
        k (int): Number of clusters.
        iterations (int): Number of assignment/update steps.
            Defaults to 10.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: int64 labels (N,) and centres
        (k, D) in the dtype of ``points``.
    """
    points = torch.as_tensor(points)
    if points.dim() != 2 or not points.is_floating_point():
        raise ValueError('points must be a floating (N, D) array, got '
                         f'{points.dtype} {tuple(points.shape)}.')
    if not 0 < k <= points.shape[0]:
        raise ValueError(f'k must be in [1, {points.shape[0]}], got {k}.')
    if iterations < 1:
        raise ValueError(f'iterations must be >= 1, got {iterations}.')
    points = points.detach()
    centers = points[:k].clone()
    # index_add and torch.where instead of bincount and boolean indexing:
    # on a GPU the iterations never wait for it.
    for _ in range(iterations):
        labels = _squared_distances(points, centers).argmin(dim=1)
        sums = torch.zeros_like(centers).index_add_(0, labels, points)
        counts = labels.new_zeros(k).index_add_(0, labels,
                                                torch.ones_like(labels))
        means = sums / counts.clamp(min=1)[:, None].to(sums.dtype)
        centers = torch.where((counts > 0)[:, None], means, centers)
    return labels, centers


def wood_class_centers(features: torch.Tensor,
                       labels: torch.Tensor) -> torch.Tensor:
    """In-distribution class centres: mean feature of the images of a class.

    A multi-label image contributes to every class it contains. A class with
    no image gets a zero centre (the reference would divide by zero).

    Args:
        features (torch.Tensor): (M, D) pooled features of the training
            images.
        labels (torch.Tensor): (M, C) multi-hot image labels.

    Returns:
        torch.Tensor: (C, D) class centres.
    """
    labels = (labels > 0).to(features.dtype)
    counts = labels.sum(0)
    sums = labels.t() @ features
    return sums / counts.clamp(min=1)[:, None]


def ood_distance_threshold(ood_distances: torch.Tensor,
                           topk_ratio: float = 0.2,
                           per_image: bool = False) -> torch.Tensor:
    """Distance below which an OoD centre counts as close (W-OoD's tau).

    Of the ``n`` nonzero distances, the ``int((1 - topk_ratio) * n)``
    largest are kept and the smallest of them is the threshold, so about a
    ``topk_ratio`` fraction of the distances lies below it. The reference
    pools all distances of the batch (``per_image=False``); ``per_image=True``
    takes one threshold per row instead. At least one distance is always
    kept; a row (or batch) with no nonzero distance gets threshold 0, which
    selects nothing.

    Args:
        ood_distances (torch.Tensor): (B, K) distances to the OoD centres.
        topk_ratio (float): Fraction of the distances to treat as close.
            Defaults to 0.2.
        per_image (bool): Whether to compute one threshold per image instead
            of one for the batch. Defaults to False.

    Returns:
        torch.Tensor: The threshold, a scalar, or (B, 1) if ``per_image``.
    """
    if not 0 <= topk_ratio < 1:
        raise ValueError(f'topk_ratio must be in [0, 1), got {topk_ratio}.')
    rows = ood_distances.detach()
    if not per_image:
        rows = rows.reshape(1, -1)
    # The count of nonzero distances stays on the device (a tensor index,
    # no wait for a GPU): each row is sorted with its zeros last and read at
    # rank keep - 1, with keep = max(1, int((1 - topk_ratio) * n)) computed
    # in float64 as Python would.
    nonzero = rows != 0
    ordered = torch.where(nonzero, rows, float('-inf')).sort(
        dim=1, descending=True).values
    count = nonzero.sum(dim=1)
    keep = (count.double() * (1 - topk_ratio)).floor().long().clamp(min=1)
    kth = ordered.gather(1, keep[:, None] - 1)[:, 0]
    thresholds = torch.where(count > 0, kth, 0)
    return thresholds[:, None] if per_image else thresholds[0]


def wood_distance_loss(features: torch.Tensor,
                       labels: torch.Tensor,
                       class_centers: torch.Tensor,
                       ood_centers: torch.Tensor,
                       topk_ratio: float = 0.2,
                       per_image: bool = False,
                       *,
                       terms: str = 'both') -> torch.Tensor:
    """The W-OoD metric-learning loss ``L_M``.

    With ``d`` the Euclidean distances of each feature to the C class and K
    OoD centres and ``tau`` from :func:`ood_distance_threshold`::

        L_M = mean(d_class * y) * C / K - mean(d_ood * [d_ood < tau])

    Both means run over all B x C (resp. B x K) entries, so absent classes
    count in the mean; the ``C / K`` factor (20 / K in the reference) turns
    the first term into ``sum / (B K)``. The loss pulls features towards the
    centres of their classes and pushes them away from the closest OoD
    centres. ``terms='pull'`` keeps only the first term (``L_d`` on the
    in-distribution data, dissertation Table 4.5 (d)), ``terms='push'`` only
    the second (``L_d`` on the OoD data, Table 4.5 (e)).

    Args:
        features (torch.Tensor): (B, D) pooled features.
        labels (torch.Tensor): (B, C) multi-hot image labels.
        class_centers (torch.Tensor): (C, D) in-distribution class centres.
        ood_centers (torch.Tensor): (K, D) OoD cluster centres.
        topk_ratio (float): Fraction of the OoD distances treated as close.
            Defaults to 0.2.
        per_image (bool): Whether to threshold the OoD distances per image
            instead of over the whole batch (the reference). Defaults to
            False.
        terms (str): ``'both'`` (the method), ``'pull'`` or ``'push'``.
            Defaults to ``'both'``.

    Returns:
        torch.Tensor: Scalar loss.
    """
    if terms not in WOOD_DISTANCE_TERMS:
        raise ValueError(f'terms must be one of {WOOD_DISTANCE_TERMS}, got '
                         f'{terms!r}')
    centers = torch.cat([class_centers, ood_centers]).to(features.dtype)
    distances = torch.linalg.vector_norm(features[:, None] - centers[None],
                                         dim=-1)
    num_classes = class_centers.shape[0]
    class_distances = distances[:, :num_classes] * labels.to(features.dtype)
    ood_distances = distances[:, num_classes:]
    pull = class_distances.mean() * (num_classes / ood_centers.shape[0])
    if terms == 'pull':
        return pull
    threshold = ood_distance_threshold(ood_distances, topk_ratio, per_image)
    push = (ood_distances * (ood_distances < threshold)).mean()
    return -push if terms == 'push' else pull - push


def wood_perturb_ood(
        model: Callable[[torch.Tensor], torch.Tensor],
        images: torch.Tensor,
        step_size: float = 0.07) -> Tuple[torch.Tensor, torch.Tensor]:
    """One anti-adversarial step that makes OoD images look more in-class.

    With ``g = d(sum_b max_c model(x)_bc) / dx``, the images become
    ``clamp(x + step_size * g / (max|g| + 1e-12), min(x), max(x))`` with the
    batch-wide bounds. The gradient is taken with :func:`torch.autograd.grad`
    w.r.t. the images only, so no parameter gradient is accumulated.

    Args:
        model (Callable[[torch.Tensor], torch.Tensor]): Maps (B, 3, H, W)
            images to (B, C) logits.
        images (torch.Tensor): (B, 3, H, W) OoD images.
        step_size (float): Step relative to the largest gradient entry.
            Defaults to 0.07.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: The perturbed images (detached)
        and the input gradient ``g``.
    """
    images = images.detach()
    with torch.enable_grad():
        inputs = images.clone().requires_grad_(True)
        score = model(inputs).max(dim=1).values.sum()
        grad, = torch.autograd.grad(score, inputs)
    step = step_size * grad / (grad.abs().max() + 1e-12)
    perturbed = (images + step).clamp(images.min(), images.max())
    return perturbed, grad


def wood_ood_loss(
        ood_logits: torch.Tensor,
        batch_size: int = 16,
        excluded_class: Optional[Union[int, Sequence[int]]] = 4
) -> torch.Tensor:
    """Loss pushing every class score of the (perturbed) OoD images down.

    Per image, the multilabel soft margin loss against all-zero targets,
    ``mean_c softplus(z_c)``; images whose arg-max class is (one of)
    ``excluded_class`` (4 = "bottle" in VOC, as in the reference) are left
    out. The sum is divided by ``batch_size``: the reference uses the
    in-distribution batch size (16), not the number of OoD images.

    Args:
        ood_logits (torch.Tensor): (B, C) logits of the OoD images.
        batch_size (int): Divisor of the summed loss. Defaults to 16.
        excluded_class (int | Sequence[int], optional): Class(es) whose
            top-scoring images are ignored; None or ``()`` keeps every
            image. Defaults to 4.

    Returns:
        torch.Tensor: Scalar loss.
    """
    per_image = F.softplus(ood_logits).mean(dim=1)
    if excluded_class is not None:
        # Compared one class at a time: no class tensor to copy to the device
        # (and wait for) at every step.
        top = ood_logits.argmax(dim=1)
        for cls in np.atleast_1d(excluded_class).tolist():
            per_image = per_image * (top != cls).to(per_image.dtype)
    return per_image.sum() / batch_size


def wood_losses(cls_logits: torch.Tensor,
                labels: torch.Tensor,
                features: torch.Tensor,
                class_centers: torch.Tensor,
                ood_centers: torch.Tensor,
                ood_logits: torch.Tensor,
                distance_lambda: float = 0.007,
                ood_coeff: float = 0.25,
                topk_ratio: float = 0.2,
                batch_size: Optional[int] = None,
                excluded_class: Optional[Union[int, Sequence[int]]] = 4,
                per_image: bool = False) -> Dict[str, torch.Tensor]:
    """The weighted W-OoD training losses; their sum is the total loss.

    ``loss_cls`` is the mean BCE-with-logits of the in-distribution images,
    ``loss_distance = distance_lambda * L_M`` (:func:`wood_distance_loss`)
    and ``loss_ood = ood_coeff * L_ood`` (:func:`wood_ood_loss`).

    Args:
        cls_logits (torch.Tensor): (B, C) in-distribution logits.
        labels (torch.Tensor): (B, C) multi-hot image labels.
        features (torch.Tensor): (B, D) pooled features of the same images.
        class_centers (torch.Tensor): (C, D) class centres.
        ood_centers (torch.Tensor): (K, D) OoD cluster centres.
        ood_logits (torch.Tensor): (B', C) logits of the perturbed OoD
            images.
        distance_lambda (float): Weight of ``L_M``. Defaults to 0.007.
        ood_coeff (float): Weight of ``L_ood``. Defaults to 0.25.
        topk_ratio (float): Fraction of OoD distances treated as close.
            Defaults to 0.2.
        batch_size (int, optional): Divisor of ``L_ood``; None uses ``B``.
            Defaults to None.
        excluded_class (int | Sequence[int], optional): OoD images whose
            arg-max is (one of) this class are ignored. Defaults to 4.
        per_image (bool): Per-image OoD distance threshold instead of the
            batch-pooled one. Defaults to False.

    Returns:
        dict[str, torch.Tensor]: Scalars ``loss_cls``, ``loss_distance`` and
        ``loss_ood``.
    """
    if batch_size is None:
        batch_size = cls_logits.shape[0]
    loss_cls = F.binary_cross_entropy_with_logits(cls_logits,
                                                  labels.to(cls_logits.dtype))
    loss_m = wood_distance_loss(features, labels, class_centers, ood_centers,
                                topk_ratio, per_image)
    loss_ood = wood_ood_loss(ood_logits, batch_size, excluded_class)
    return dict(loss_cls=loss_cls,
                loss_distance=distance_lambda * loss_m,
                loss_ood=ood_coeff * loss_ood)
