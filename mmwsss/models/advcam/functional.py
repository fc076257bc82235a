# Copyright (c) mmwsss contributors. All rights reserved.
"""AdvCAM: anti-adversarial manipulation of the image (adversarial climbing).

Behaviour of the official code (jbeomlee93/AdvCAM, ``obtain_CAM_masking.py``
with ``gradCAM.py``), per image, scale and ground-truth class ``c``, starting
from the image and its horizontal flip ``x_0`` (2, 3, h, w):

* ``regions_t``: a Grad-CAM map of ``x_t`` at the classifier's input features
  (:func:`advcam_gradcam_regions`), flip-merged to (h', w');
* ``y`` = spatial mean of ``ReLU(raw maps)`` per copy and class;
* mask ``M = 1[regions_t / max(regions_t) > tau]``, re-derived every step;
* objective (ascended) ``J = sum_copies(y_c - sum_{k != c} y_k)
  - lambda * sum(M * |regions_t - regions_0|)``;
* ``x_{t+1} = clamp(x_t + xi * g / (max|g| + 1e-12), min(x_t), max(x_t))``
  with ``g = dJ/dx_t``; the max and both bounds are global over the pair;
* the refined CAM is ``sum_{t=0}^{T-1} regions_t``: ``x_T`` is never
  evaluated (the paper's Eq. 3.3 sums to T).

The paper states xi = 0.008 on the raw gradient; the code uses 0.08 on the
gradient divided by its global max-abs. Defaults here follow the code.

Speed-ups over the reference (same numbers up to float rounding):

* One backward per step (:func:`advcam_analytic_regions`). The reference
  backpropagates ``S = sum_copies sum_p ReLU(raw_c)`` through the whole
  network only to read the gradient at the classifier's input ``F``. When
  ``raw = conv1x1(F, W)`` without bias, ``dS/dF_k(b, p) = W[c, k] *
  1[raw_c(b, p) > 0]``. Summed over pixels this is ``W[c, k] * n_b`` with
  ``n_b = #{p : raw_c(b, p) > 0}`` in copy ``b``; the strictly positive
  entries of the whole gradient tensor number ``P = n_W * (n_0 + n_1)``
  with ``n_W = #{k : W[c, k] > 0}``. The Grad-CAM weights are therefore
  ``w_bk = W[c, k] * n_b / (P + 1e-12)`` and the map
  ``ReLU(sum_k F_k w_bk) = n_b / (P + 1e-12) * ReLU(raw_c)`` (the factor is
  >= 0, so it leaves the ReLU). Its gradient also agrees: the hooked map
  treats ``w`` as constant, the analytic one treats the integer counts as
  constant, both give ``n_b / (P + 1e-12) * 1[raw_c > 0] * W[c, k]``. So the
  map is the class's CAM with a per-copy scalar; the scalar must be kept
  because it weights the two copies, the L1 drift term and each step's
  share of the accumulated CAM.
* All ground-truth classes of an image and both flip copies run as one batch
  of ``2 K`` samples; the gradient normalisation and clamping stay per class.
* Only the input gradient is computed (``torch.autograd.grad``), so no
  parameter ``.grad`` is accumulated, and the last step's unused backward is
  skipped.
* Every class starts from the same ``x_0``, so step 0 runs one forward of
  the pair for all classes and one backward per class through it (the
  reference repeats that forward for every class).
"""
from functools import partial
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..utils.cam import merge_multiscale_cams

CamFn = Callable[[torch.Tensor], Union[torch.Tensor, Tuple[torch.Tensor,
                                                           torch.Tensor]]]


def _as_targets(targets, device: torch.device) -> torch.Tensor:
    """Class indices as a flat long tensor on ``device``."""
    return torch.as_tensor(
        targets, dtype=torch.long, device=device).reshape(-1)


def _target_maps(raw_maps: torch.Tensor,
                 targets: torch.Tensor) -> torch.Tensor:
    """Each group's target-class raw maps: (K, 2, h, w) of (2K, C, h, w)."""
    num_groups = targets.numel()
    per_sample = targets.repeat_interleave(2)
    rows = torch.arange(per_sample.numel(), device=raw_maps.device)
    return raw_maps[rows, per_sample].reshape(num_groups, 2,
                                              *raw_maps.shape[2:])


def _merge_flip(maps: torch.Tensor) -> torch.Tensor:
    """``map[copy 0] + hflip(map[copy 1])`` for (K, 2, h, w) maps."""
    return maps[:, 0] + maps[:, 1].flip(-1)


def advcam_gradcam_regions(
        raw_maps: torch.Tensor, features: torch.Tensor,
        targets: Union[Sequence[int], torch.Tensor]) -> torch.Tensor:
    """Grad-CAM attribution map of the reference loop (hooked computation).

    For each group ``g`` (samples ``2g`` and ``2g + 1``: an image and its
    flip) with target class ``c = targets[g]``, the gradient of
    ``sum_copies sum_pixels ReLU(raw[:, c])`` with respect to ``features`` is
    taken; the channel weights are its spatial sum divided by the number of
    strictly positive entries of the group's whole gradient tensor
    (+ 1e-12); each copy's map is ``ReLU(sum_k F_k * w_k)`` and the two copies
    are flip-merged. The weights are constants, so gradients of the returned
    map flow through ``features`` only. Needs a second backward (here only
    down to ``features``); :func:`advcam_analytic_regions` gives the same map
    without it.

    Args:
        raw_maps (torch.Tensor): (2K, C, h, w) raw class maps (before ReLU),
            computed from ``features`` with autograd enabled.
        features (torch.Tensor): (2K, D, h, w) features the Grad-CAM hooks
            (``stage4`` in the reference).
        targets (Sequence[int] | torch.Tensor): The K target classes.

    Returns:
        torch.Tensor: (K, h, w) flip-merged maps, differentiable.
    """
    targets = _as_targets(targets, raw_maps.device)
    num_groups = targets.numel()
    score = _target_maps(raw_maps, targets).relu().sum()
    grad = torch.autograd.grad(score, features, retain_graph=True)[0]
    num_pos = (grad > 0).reshape(num_groups, -1).sum(1)
    weights = grad.sum((2, 3)) / (
        num_pos.repeat_interleave(2)[:, None] + 1e-12)
    maps = (features * weights[:, :, None, None]).sum(1).relu()
    return _merge_flip(maps.reshape(num_groups, 2, *maps.shape[1:]))


def advcam_analytic_regions(raw_maps: torch.Tensor,
                            targets: Union[Sequence[int], torch.Tensor],
                            classifier_weight: torch.Tensor) -> torch.Tensor:
    """The Grad-CAM map of :func:`advcam_gradcam_regions` in closed form.

    Valid when ``raw_maps = conv1x1(features, classifier_weight)`` without a
    bias (the IRN-family CAM classifier). Then copy ``b`` of group ``g`` maps
    to ``n_b / (n_W * (n_0 + n_1) + 1e-12) * ReLU(raw_c)``, where ``n_b``
    counts the pixels with ``raw_c > 0`` in copy ``b`` and ``n_W`` the
    strictly positive entries of ``classifier_weight[c]`` (derivation in the
    module docstring). No backward pass is needed.

    Args:
        raw_maps (torch.Tensor): (2K, C, h, w) raw class maps.
        targets (Sequence[int] | torch.Tensor): The K target classes.
        classifier_weight (torch.Tensor): (C, D) or (C, D, 1, 1) weight of the
            1x1 classifier producing ``raw_maps``.

    Returns:
        torch.Tensor: (K, h, w) flip-merged maps, differentiable.
    """
    targets = _as_targets(targets, raw_maps.device)
    weight = classifier_weight.detach().reshape(classifier_weight.shape[0], -1)
    num_pos_weights = (weight[targets] > 0).sum(1)
    target_maps = _target_maps(raw_maps, targets)
    num_pos_pixels = (target_maps > 0).sum((2, 3))
    scale = num_pos_pixels / (
        num_pos_weights[:, None] * num_pos_pixels.sum(1, keepdim=True) + 1e-12)
    return _merge_flip(scale[:, :, None, None] * target_maps.relu())


def _analytic_regions(raw_maps: torch.Tensor, features, targets: torch.Tensor,
                      classifier_weight: torch.Tensor) -> torch.Tensor:
    """:func:`advcam_analytic_regions` with the signature of the hooked one."""
    return advcam_analytic_regions(raw_maps, targets, classifier_weight)


def advcam_objective(raw_maps: torch.Tensor,
                     regions: torch.Tensor,
                     init_regions: torch.Tensor,
                     targets: Union[Sequence[int], torch.Tensor],
                     ad_coeff: float = 7.0,
                     score_th: float = 0.5,
                     *,
                     suppress_other_classes: bool = True
                     ) -> Dict[str, torch.Tensor]:
    """The quantity ascended by one adversarial-climbing step, per group.

    ``y`` is the spatial mean of ``ReLU(raw_maps)`` (not the training logit,
    which is the mean before the ReLU). ``logit_loss = -2 sum_copies y_c +
    sum_copies sum_k y_k``, i.e. minus (target score - all other scores,
    ground truth or not); without ``suppress_other_classes`` it is
    ``-sum_copies y_c``, which only raises the target score (with
    ``ad_coeff=0`` this is the climbing "without regularization" of
    dissertation Fig. 3.7). The restricting mask is re-derived from the
    current map at every step and L1 drift is measured against the step-0
    map.

    Args:
        raw_maps (torch.Tensor): (2K, C, h, w) raw class maps of ``x_t``.
        regions (torch.Tensor): (K, h, w) attribution maps of ``x_t``.
        init_regions (torch.Tensor): (K, h, w) attribution maps of ``x_0``
            (treated as constants).
        targets (Sequence[int] | torch.Tensor): The K target classes.
        ad_coeff (float): Weight lambda of the masked L1 drift.
            Defaults to 7.0.
        score_th (float): Mask threshold tau on ``regions / max(regions)``.
            Defaults to 0.5.
        suppress_other_classes (bool): Subtract the scores of the other
            classes (the method); False ascends the target score alone.
            Defaults to True.

    Returns:
        dict[str, torch.Tensor]: ``loss`` (K,) the objective
        ``-logit_loss - ad_coeff * l_ad``; ``logit_loss`` (K,); ``l_ad`` (K,)
        ``sum(mask * |regions - init_regions|)``; ``mask`` (K, h, w) float;
        ``y`` (K, 2, C).
    """
    targets = _as_targets(targets, raw_maps.device)
    num_groups = targets.numel()
    y = raw_maps.relu().mean((2, 3)).reshape(num_groups, 2, -1)
    target_y = y[torch.arange(num_groups, device=y.device), :, targets]
    if suppress_other_classes:
        logit_loss = -2 * target_y.sum(1) + y.sum((1, 2))
    else:
        logit_loss = -target_y.sum(1)
    with torch.no_grad():
        mask = (regions / regions.amax((1, 2), keepdim=True)
                > score_th).to(regions.dtype)
    l_ad = (mask * (regions - init_regions.detach()).abs()).sum((1, 2))
    loss = -logit_loss - ad_coeff * l_ad
    return dict(loss=loss, logit_loss=logit_loss, l_ad=l_ad, mask=mask, y=y)


def adversarial_climb_step(x: torch.Tensor,
                           grad: torch.Tensor,
                           step_size: float = 0.08,
                           groups: int = 1) -> torch.Tensor:
    """One gradient-ascent step on the image, normalised and clamped.

    ``x + step_size * g / (max|g| + 1e-12)``, clamped to ``[min(x), max(x)]``.
    The max-abs and the bounds are global over each of ``groups`` equal
    consecutive chunks of the batch (over a whole image pair in AdvCAM).
    There is no sign() and no epsilon ball.

    Args:
        x (torch.Tensor): (N, ...) current images.
        grad (torch.Tensor): Gradient of the objective, same shape.
        step_size (float): Step xi. Defaults to 0.08.
        groups (int): Number of independent chunks of the batch.
            Defaults to 1.

    Returns:
        torch.Tensor: The next images (detached), same shape as ``x``.
    """
    flat_x = x.detach().reshape(groups, -1)
    flat_g = grad.reshape(groups, -1)
    g_max = flat_g.abs().amax(1, keepdim=True)
    stepped = flat_x + step_size * flat_g / (g_max + 1e-12)
    stepped = torch.clamp(
        stepped,
        min=flat_x.amin(1, keepdim=True),
        max=flat_x.amax(1, keepdim=True))
    return stepped.reshape(x.shape)


def _climbing_step(cam_fn: CamFn, x: torch.Tensor, targets: torch.Tensor,
                   init_regions: Optional[torch.Tensor], region_fn: Callable,
                   backward: bool, shared: bool, trace: bool, ad_coeff: float,
                   step_size: float, score_th: float,
                   suppress_other_classes: bool):
    """One step for K groups: ``(regions, x_next, trace record)``.

    ``shared``: ``x`` is the single pair all groups start from; it is run
    once and each group's gradient is taken separately through it. Without
    ``backward`` only the maps are computed (``x_next`` and the record are
    None). The record (image-sized tensors) is only built with ``trace``;
    otherwise nothing of the step outlives it but the maps and ``x_next``.
    """
    num_groups = targets.numel()
    x = x.detach().requires_grad_(True)
    out = cam_fn(x)
    raw_maps, features = out if isinstance(out, tuple) else (out, None)
    if region_fn is advcam_gradcam_regions and features is None:
        raise ValueError('cam_fn must return (raw_maps, features) when '
                         'classifier_weight is None')
    if shared:
        regions = torch.cat([
            region_fn(raw_maps, features, target[None]) for target in targets
        ])
        raw_maps = raw_maps.repeat(num_groups, 1, 1, 1)
    else:
        regions = region_fn(raw_maps, features, targets)
    if init_regions is None:
        init_regions = regions
    if not backward:
        return regions.detach(), None, None
    terms = advcam_objective(
        raw_maps,
        regions,
        init_regions,
        targets,
        ad_coeff,
        score_th,
        suppress_other_classes=suppress_other_classes)
    if shared:
        grad = torch.cat([
            torch.autograd.grad(loss, x, retain_graph=g < num_groups - 1)[0]
            for g, loss in enumerate(terms['loss'])
        ])
        x = x.detach().repeat(num_groups, 1, 1, 1)
    else:
        grad = torch.autograd.grad(terms['loss'].sum(), x)[0]
    x_next = adversarial_climb_step(x, grad, step_size, num_groups)
    if not trace:
        return regions.detach(), x_next, None
    record = dict(
        raw_maps=raw_maps.detach(),
        regions=regions.detach(),
        grad=grad,
        x_next=x_next,
        **{k: v.detach()
           for k, v in terms.items()})
    return regions.detach(), x_next, record


def adversarial_climbing(
    cam_fn: CamFn,
    images: torch.Tensor,
    targets: Union[Sequence[int], torch.Tensor],
    adv_iter: int = 27,
    ad_coeff: float = 7.0,
    step_size: float = 0.08,
    score_th: float = 0.5,
    classifier_weight: Optional[torch.Tensor] = None,
    max_classes_per_batch: Optional[int] = None,
    return_trace: bool = False,
    *,
    suppress_other_classes: bool = True,
) -> Union[torch.Tensor, Tuple[torch.Tensor, List[Dict[str, torch.Tensor]]]]:
    """AdvCAM maps of one image pair at one scale, all target classes batched.

    Every class starts from ``images``, so step 0 runs the pair once for all
    K classes. From step 1 the classes and the two copies form batches of
    ``2 * max_classes_per_batch`` samples (sample ``2g + b`` = copy ``b`` of
    class ``targets[g]``), so ``cam_fn`` must treat samples independently
    (no batch statistics). The result does not depend on the batching. Runs
    under ``torch.enable_grad()``; only the input gradient is computed.

    Args:
        cam_fn (Callable): Maps a (N, 3, h, w) batch to its (N, C, h', w') raw
            class maps (before ReLU), or to a ``(raw_maps, features)`` tuple
            where ``features`` (N, D, h', w') are the Grad-CAM features (the
            classifier input). ``features`` are only used when
            ``classifier_weight`` is None.
        images (torch.Tensor): (2, 3, h, w) image and its horizontal flip.
        targets (Sequence[int] | torch.Tensor): The K target classes.
        adv_iter (int): Number of steps T; maps of ``x_0 .. x_{T-1}`` are
            summed. Defaults to 27.
        ad_coeff (float): Weight lambda of the masked L1 drift.
            Defaults to 7.0.
        step_size (float): Step xi on the max-normalised gradient.
            Defaults to 0.08.
        score_th (float): Mask threshold tau. Defaults to 0.5.
        classifier_weight (torch.Tensor, optional): (C, D[, 1, 1]) weight of
            the bias-free 1x1 classifier producing the raw maps. If given,
            the attribution map is the closed form
            (:func:`advcam_analytic_regions`, one backward per step);
            otherwise the reference Grad-CAM
            (:func:`advcam_gradcam_regions`). Defaults to None.
        max_classes_per_batch (int, optional): Classes per batch from step 1
            on. Defaults to None (all K).
        return_trace (bool): Also return per-step diagnostics (this runs the
            last, otherwise unused, backward to report ``x_T``; the
            image-sized records of all T steps are kept, so memory grows
            with T x K). Without it, memory does not depend on T.
            Defaults to False.
        suppress_other_classes (bool): See :func:`advcam_objective`.
            Defaults to True.

    Returns:
        torch.Tensor | tuple: (K, h', w') sum of the T attribution maps;
        with ``return_trace``, also a list of T dicts of detached tensors:
        ``raw_maps`` (2K, C, h', w'), ``regions`` (K, h', w') and the
        entries of :func:`advcam_objective`, ``grad`` and ``x_next``
        (2K, 3, h, w).

    Raises:
        ValueError: If ``images`` is not a pair, ``targets`` is empty,
            ``adv_iter < 1``, or ``features`` are needed but not returned.
    """
    if images.dim() != 4 or images.shape[0] != 2:
        raise ValueError('images must be an (image, flipped image) pair of '
                         f'shape (2, 3, h, w), got {tuple(images.shape)}')
    targets = _as_targets(targets, images.device)
    num_groups = targets.numel()
    if num_groups == 0 or adv_iter < 1:
        raise ValueError('adversarial climbing needs at least one target '
                         'class and adv_iter >= 1')
    if classifier_weight is None:
        region_fn = advcam_gradcam_regions
    else:
        region_fn = partial(
            _analytic_regions, classifier_weight=classifier_weight)
    step = partial(
        _climbing_step,
        cam_fn,
        region_fn=region_fn,
        ad_coeff=ad_coeff,
        step_size=step_size,
        score_th=score_th,
        suppress_other_classes=suppress_other_classes,
        trace=return_trace)
    with torch.enable_grad():
        init_regions, x, record = step(
            images, targets, None,
            backward=adv_iter > 1 or return_trace, shared=True)
        accumulated = init_regions.clone()
        # Per step, the records of its class chunks (kept only for a trace:
        # they are image-sized, so memory would grow with T x K).
        records = [[record]] + [[] for _ in range(1, adv_iter)]
        chunk = max_classes_per_batch or num_groups
        # with a single step x_1 was never computed
        starts = range(0, num_groups, chunk) if adv_iter > 1 else ()
        for first in starts:
            groups = slice(first, first + chunk)
            chunk_x = x[2 * first:2 * (first + chunk)]
            for t in range(1, adv_iter):
                regions, chunk_x, record = step(
                    chunk_x, targets[groups], init_regions[groups],
                    backward=t < adv_iter - 1 or return_trace, shared=False)
                accumulated[groups] += regions
                if return_trace:
                    records[t].append(record)
    if not return_trace:
        return accumulated
    trace = [{
        key: torch.cat([part[key] for part in parts])
        for key in parts[0]
    } for parts in records]
    return accumulated, trace


def advcam_scale_schedule(
        scales: Sequence[float],
        adv_iter: int = 27,
        compensate_half_scale: bool = False) -> List[Tuple[int, float]]:
    """Number of steps and accumulation multiplier of every scale.

    The reference runs fewer steps at scale 0.5: ``adv_iter // 2`` with
    multiplier 2 if ``adv_iter > 10``, ``adv_iter`` if ``adv_iter < 6``,
    else 5 (multiplier 1). Other scales run ``adv_iter`` steps. The
    multiplier variable is only assigned for scale 0.5, which the reference
    always processes first, so the other scales reuse its value: every
    term is doubled and the doubling cancels in the max normalisation
    (only the step counts matter). ``compensate_half_scale=True`` applies
    the evident intent instead (x2 at scale 0.5 only).

    Args:
        scales (Sequence[float]): The scales, in any order.
        adv_iter (int): Steps T of the full scales. Defaults to 27.
        compensate_half_scale (bool): Apply the multiplier to scale 0.5
            only. Defaults to False (reference behaviour).

    Returns:
        list[tuple[int, float]]: ``(steps, multiplier)`` per scale, in the
        order of ``scales``.
    """
    if adv_iter > 10:
        half = (adv_iter // 2, 2.0)
    elif adv_iter < 6:
        half = (adv_iter, 1.0)
    else:
        half = (5, 1.0)
    others = 1.0 if compensate_half_scale or 0.5 not in scales else half[1]
    return [half if s == 0.5 else (adv_iter, others) for s in scales]


def advcam_multiscale_cams(
    cam_fn: CamFn,
    inputs: Sequence[torch.Tensor],
    scales: Sequence[float],
    image_size: Sequence[int],
    keys: Union[Sequence[int], torch.Tensor],
    adv_iter: int = 27,
    ad_coeff: float = 7.0,
    step_size: float = 0.08,
    score_th: float = 0.5,
    classifier_weight: Optional[torch.Tensor] = None,
    compensate_half_scale: bool = False,
    max_classes_per_batch: Optional[int] = None,
    *,
    suppress_other_classes: bool = True,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """AdvCAM's saved CAMs of one image: all scales, all its classes.

    Per scale, :func:`adversarial_climbing` with the steps of
    :func:`advcam_scale_schedule`, times the multiplier; then IRN's
    strided / high-res resize-and-sum and per-class max + 1e-5
    normalisation (:func:`~mmwsss.models.utils.cam.merge_multiscale_cams`).

    Args:
        cam_fn (Callable): See :func:`adversarial_climbing`.
        inputs (Sequence[torch.Tensor]): One (2, 3, h_s, w_s) image + flip
            pair per scale, preprocessed as the classifier expects.
        scales (Sequence[float]): The scale of each entry of ``inputs``.
        image_size (Sequence[int]): Original image size (H, W).
        keys (Sequence[int] | torch.Tensor): The image's K ground-truth
            classes (at least one), in output order.
        adv_iter (int): Steps T. Defaults to 27.
        ad_coeff (float): Weight lambda of the masked L1 drift.
            Defaults to 7.0.
        step_size (float): Step xi. Defaults to 0.08.
        score_th (float): Mask threshold tau. Defaults to 0.5.
        classifier_weight (torch.Tensor, optional): Enables the one-backward
            closed form (see :func:`adversarial_climbing`). Defaults to None.
        compensate_half_scale (bool): See :func:`advcam_scale_schedule`.
            Defaults to False.
        max_classes_per_batch (int, optional): See
            :func:`adversarial_climbing`. Defaults to None.
        suppress_other_classes (bool): See :func:`advcam_objective`.
            Defaults to True.

    Returns:
        tuple[torch.Tensor, torch.Tensor]: ``strided`` (K, (H-1)//4+1,
        (W-1)//4+1) and ``high_res`` (K, H, W) CAMs.
    """
    if len(inputs) != len(scales):
        raise ValueError('inputs and scales must have the same length')
    schedule = advcam_scale_schedule(scales, adv_iter, compensate_half_scale)
    per_scale = []
    for pair, (steps, multiplier) in zip(inputs, schedule):
        cams = adversarial_climbing(
            cam_fn,
            pair,
            keys,
            steps,
            ad_coeff,
            step_size,
            score_th,
            classifier_weight,
            max_classes_per_batch,
            suppress_other_classes=suppress_other_classes)
        # The maps are already flip-merged and >= 0: a zero second copy
        # makes merge_multiscale_cams' ReLU + flip-sum the identity.
        cams = multiplier * cams
        per_scale.append(torch.stack([cams, torch.zeros_like(cams)]))
    return merge_multiscale_cams(per_scale, image_size)
