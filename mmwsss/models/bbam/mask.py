# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM mask parameterisation: stride, initialisation, perturbation, loss.

The bounding box attribution map (BBAM, Lee et al., CVPR 2021) is a coarse
mask ``M`` in [0, 1], optimised so that a detector fed with the perturbed image
``(x - mu) * up(M)`` still predicts the same class-c deltas and probability for
the positive proposals, while ``M`` stays small and smooth. Every choice below
follows the official training-image code (``BBAM_training_images_multi.py``),
which differs from the dissertation in places that each docstring names.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.utils import to_numpy

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence[float]]
MaskInput = Union[torch.Tensor, Sequence[torch.Tensor]]


def _image_hw(image_size: Sequence[int]) -> Tuple[int, int]:
    if len(image_size) != 2 or min(int(image_size[0]), int(
            image_size[1])) <= 0:
        raise ValueError('image_size must be a positive (H, W) pair, got '
                         f'{tuple(image_size)}.')
    return int(image_size[0]), int(image_size[1])


def _as_mask_batch(mask: torch.Tensor, name: str = 'mask') -> torch.Tensor:
    # (h, w) and (1, h, w) are one mask; (N, 1, h, w) is a batch of N masks.
    if mask.dim() == 2:
        return mask[None, None]
    if mask.dim() == 3 and mask.shape[0] == 1:
        return mask[None]
    if mask.dim() == 4 and mask.shape[1] == 1:
        return mask
    raise ValueError(f'{name} must be (h, w), (1, h, w) or (N, 1, h, w), '
                     f'got {tuple(mask.shape)}.')


def _mask_batches(mask: MaskInput) -> List[torch.Tensor]:
    # One (N, 1, h, w) batch per tensor: the tensor itself, or each mask of a
    # sequence of masks that may differ in size.
    if isinstance(mask, torch.Tensor):
        return [_as_mask_batch(mask)]
    if len(mask) == 0:
        raise ValueError('mask must hold at least one mask.')
    return [_as_mask_batch(m, f'mask[{i}]') for i, m in enumerate(mask)]


def tv_norm(mask: torch.Tensor,
            beta: float = 3.0,
            diagonal: bool = True,
            reduction: str = 'sum') -> torch.Tensor:
    """Total variation of a BBAM mask, as the reference ``tv_norm``.

    With ``D = |difference|**beta`` of vertically, horizontally and (when
    ``diagonal``) diagonally adjacent cells, the norm is
    ``R(D_v) + R(D_h) + 2 R(D_d1) + 2 R(D_d2)`` where ``D_d1`` pairs
    ``M(i+1, j+1)`` with ``M(i, j)``, ``D_d2`` pairs ``M(i+1, j)`` with
    ``M(i, j+1)``, and ``R`` is a sum or a mean. The factor 2 reproduces the
    reference, which lists four diagonal terms that are pairwise equal. The
    dissertation has no TV term; the code adds it with weight 1e-4.

    Each mask of a batch is reduced on its own, so the gradient of the sum of
    the returned values with respect to one mask equals the gradient of that
    mask's norm computed alone.

    Args:
        mask (torch.Tensor): One mask (h, w) or (1, h, w), or a batch
            (N, 1, h, w).
        beta (float): Exponent of the absolute differences. Defaults to 3.0.
        diagonal (bool): Whether to add the two diagonal terms. Defaults to
            True.
        reduction (str): ``'sum'`` or ``'mean'`` over the cells of each term.
            An empty term (a mask one cell high or wide) counts as 0 in
            either mode instead of the reference's NaN mean. Defaults to
            ``'sum'``.

    Returns:
        torch.Tensor: A scalar for one mask, or (N,) values for a batch.
    """
    if reduction not in ('sum', 'mean'):
        raise ValueError(
            f"reduction must be 'sum' or 'mean', got {reduction!r}.")
    batch = _as_mask_batch(mask)
    diffs = [(batch[..., 1:, :] - batch[..., :-1, :], 1.0),
             (batch[..., :, 1:] - batch[..., :, :-1], 1.0)]
    if diagonal:
        diffs += [(batch[..., 1:, 1:] - batch[..., :-1, :-1], 2.0),
                  (batch[..., 1:, :-1] - batch[..., :-1, 1:], 2.0)]
    total = batch.new_zeros(batch.shape[0])
    for diff, weight in diffs:
        term = diff.abs().pow(beta).sum(dim=(1, 2, 3))
        if reduction == 'mean':
            term = term / max(diff[0].numel(), 1)
        total = total + weight * term
    return total if mask.dim() == 4 else total[0]


def bbam_stride(box_xyxy: ArrayLike, image_size: Sequence[int]) -> float:
    """Adaptive stride of the BBAM mask, ``16 + 48 * sqrt(a)``.

    ``a`` is the box area ``(x1 - x0) * (y1 - y0)`` (no +1) over the image
    area, so small objects get fine masks and large objects coarse ones
    (dissertation Sec. 5.3.2 and the code agree).

    Args:
        box_xyxy (ArrayLike): (4,) box ``[x0, y0, x1, y1]`` in pixels of the
            image the detector sees.
        image_size (Sequence[int]): (H, W) of that image.

    Returns:
        float: The stride ``s`` in pixels.
    """
    height, width = _image_hw(image_size)
    box = to_numpy(box_xyxy, np.float64).reshape(-1)
    if box.shape != (4, ):
        raise ValueError(
            f'box_xyxy must hold 4 numbers, got shape {box.shape}.')
    area = (box[2] - box[0]) * (box[3] - box[1])
    if area < 0:
        raise ValueError(f'box_xyxy must have x1 >= x0 and y1 >= y0, got '
                         f'{box.tolist()}.')
    return 16 + 48 * math.sqrt(area / (height * width))


def init_bbam_mask(positive_boxes: ArrayLike, image_size: Sequence[int],
                   stride: float) -> torch.Tensor:
    """Initial BBAM mask: the union of the positive boxes on the coarse grid.

    The mask has ``(int(H / s), int(W / s))`` cells (at least one each, where
    the reference would build an empty mask and fail). Each box is divided by
    ``s`` in float32 and truncated, and the cells ``[y0:y1, x0:x1]`` (exclusive
    ends) are set to 1. Decoded boxes are not clipped to the image, so
    coordinates are clamped to the grid; the reference instead lets Python's
    negative slice indices wrap around, which marks the wrong cells. There is
    no sigmoid: the mask is optimised directly and clamped to [0, 1].

    Args:
        positive_boxes (ArrayLike): (K, 4) decoded class-c boxes
            ``[x0, y0, x1, y1]`` of the positive proposals. K may be 0, which
            gives an all-zero mask.
        image_size (Sequence[int]): (H, W) of the detector input.
        stride (float): Mask stride, usually :func:`bbam_stride` of the
            ground-truth box.

    Returns:
        torch.Tensor: float32 mask of shape (1, int(H / s), int(W / s)).
    """
    height, width = _image_hw(image_size)
    if not stride > 0:
        raise ValueError(f'stride must be positive, got {stride}.')
    boxes = torch.as_tensor(to_numpy(positive_boxes,
                                     np.float32)).reshape(-1, 4)
    mask_h = max(int(height / stride), 1)
    mask_w = max(int(width / stride), 1)
    # float32 division then truncation towards zero, as the reference.
    cells = torch.trunc(boxes / stride).long()
    x0, x1 = cells[:, 0].clamp(0, mask_w), cells[:, 2].clamp(0, mask_w)
    y0, y1 = cells[:, 1].clamp(0, mask_h), cells[:, 3].clamp(0, mask_h)
    rows = torch.arange(mask_h)
    cols = torch.arange(mask_w)
    in_rows = (rows >= y0[:, None]) & (rows < y1[:, None])
    in_cols = (cols >= x0[:, None]) & (cols < x1[:, None])
    covered = (in_rows[:, :, None] & in_cols[:, None, :]).any(dim=0)
    return covered.to(torch.float32)[None]


def perturb_with_mask(image: torch.Tensor, mask: MaskInput) -> torch.Tensor:
    """Perturbation ``Phi``: the mean-subtracted image times the mask.

    The mask is upsampled to the image size with bilinear interpolation and
    ``align_corners=True`` (the reference ``UpsamplingBilinear2d``) and
    multiplies every channel. On a mean-subtracted image this replaces the
    masked-out pixels by the dataset mean: ``x * m + mu * (1 - m)``.

    Args:
        image (torch.Tensor): Mean-subtracted image (C, H, W) or batch
            (N, C, H, W).
        mask (torch.Tensor | Sequence[torch.Tensor]): Mask (1, h, w), batch
            (N, 1, h, w), or a sequence of N masks (1, h_i, w_i) of any sizes
            (objects of different strides). A single image is shared by a
            batch of masks and a single mask by a batch of images.

    Returns:
        torch.Tensor: (C, H, W) when both inputs are single, else
        (N, C, H, W).
    """
    if image.dim() not in (3, 4):
        raise ValueError('image must be (C, H, W) or (N, C, H, W), got '
                         f'{tuple(image.shape)}.')
    images = image if image.dim() == 4 else image[None]
    single_mask = isinstance(mask, torch.Tensor) and mask.dim() == 3
    if isinstance(mask, torch.Tensor) and mask.dim() not in (3, 4):
        raise ValueError('mask must be (1, h, w) or (N, 1, h, w), got '
                         f'{tuple(mask.shape)}.')
    upsampled = torch.cat([
        F.interpolate(
            batch.to(images.dtype),
            size=images.shape[-2:],
            mode='bilinear',
            align_corners=True) for batch in _mask_batches(mask)
    ])
    if images.shape[0] != upsampled.shape[0] and 1 not in (images.shape[0],
                                                           upsampled.shape[0]):
        raise ValueError(f'{images.shape[0]} images and '
                         f'{upsampled.shape[0]} masks cannot be paired.')
    out = images * upsampled
    return out[0] if image.dim() == 3 and single_mask else out


def _checked_mask_index(
        mask_index: Optional[torch.Tensor], num_props: int, num_masks: int,
        device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    # The proposals' mask indices and the proposal count of every mask,
    # checked (which reads values on the host).
    if mask_index is None:
        if num_masks != 1:
            raise ValueError('mask_index is required for a batch of '
                             f'{num_masks} masks.')
        mask_index = torch.zeros(num_props, dtype=torch.long, device=device)
    else:
        mask_index = torch.as_tensor(mask_index, device=device)
        if (mask_index.shape != (num_props, )
                or mask_index.is_floating_point() or mask_index.min() < 0
                or mask_index.max() >= num_masks):
            raise ValueError(f'mask_index must be ({num_props},) integers '
                             f'in [0, {num_masks}).')
        mask_index = mask_index.long()
    counts = torch.bincount(mask_index, minlength=num_masks)
    if (counts == 0).any():
        raise ValueError('every mask needs at least one proposal; masks '
                         f'{torch.nonzero(counts == 0).flatten().tolist()} '
                         'have none.')
    return mask_index, counts


def bbam_loss(deltas: torch.Tensor,
              deltas_perturbed: torch.Tensor,
              probs: torch.Tensor,
              probs_perturbed: torch.Tensor,
              mask: MaskInput,
              l1_coeff: float = 0.007,
              tv_coeff: float = 1e-4,
              tv_beta: float = 3.0,
              *,
              mask_index: Optional[torch.Tensor] = None,
              box_weight: float = 0.5,
              cls_weight: float = 0.5,
              reduction: str = 'sum',
              mask_counts: Optional[torch.Tensor] = None) -> torch.Tensor:
    """BBAM objective of one or several masks.

    For a mask with positive proposals ``i = 1..P``::

        L = 1/P sum_i [box_weight * mean_k |t_ik - t'_ik|
                       + cls_weight * |p_i - p'_i|]
            + l1_coeff * sum |M| + tv_coeff * TV_beta(M)

    with ``t`` the class-c deltas and ``p`` the class-c softmax probability on
    the clean image, primes on the perturbed image. This is the reference
    code: the dissertation (Eq. 5.1-5.3) weighs both heads by 1 and has no TV
    term; the code halves the heads, adds TV (:func:`tv_norm` with diagonals
    and sums) and uses an L1 *sum* over the cells. ``box_weight=0`` or
    ``cls_weight=0`` gives the dissertation's single-head ablations.

    Several masks are handled at once, stacked as (N, 1, h, w) or as a
    sequence of masks of different sizes, with each proposal's mask given in
    ``mask_index``. Each loss only involves its own mask and proposals, so the
    summed losses (``reduction='sum'``) give every mask the gradient of its
    own loss computed alone (Adam being element-wise, one optimiser over all
    masks then takes the same steps as one optimiser per mask).

    Args:
        deltas (torch.Tensor): (P, 4) class-c box deltas, clean image.
        deltas_perturbed (torch.Tensor): (P, 4) deltas, perturbed image.
        probs (torch.Tensor): (P,) class-c probabilities, clean image.
        probs_perturbed (torch.Tensor): (P,) probabilities, perturbed image.
        mask (torch.Tensor | Sequence[torch.Tensor]): One mask (h, w) or
            (1, h, w), a batch (N, 1, h, w), or a sequence of N masks
            (1, h_i, w_i).
        l1_coeff (float): Weight of the L1 mask size. Defaults to 0.007.
        tv_coeff (float): Weight of the TV term. Defaults to 1e-4.
        tv_beta (float): TV exponent. Defaults to 3.0.
        mask_index (torch.Tensor, optional): (P,) index of each proposal's
            mask. Required for more than one mask; every mask needs at least
            one proposal. Defaults to None.
        box_weight (float): Weight of the box-head term. Defaults to 0.5.
        cls_weight (float): Weight of the cls-head term. Defaults to 0.5.
        reduction (str): For several masks, ``'sum'`` of the per-mask losses
            or ``'none'`` for the (N,) losses. A single (h, w) or (1, h, w)
            mask always gives a scalar. Defaults to ``'sum'``.
        mask_counts (torch.Tensor, optional): (N,) number of proposals of
            each mask, i.e. ``bincount(mask_index)``, for a loop that calls
            the loss many times with the same ``mask_index``: given, the
            index is trusted (not checked) and the loss reads no tensor value
            on the host, so it never waits for a GPU. Needs ``mask_index``.
            Defaults to None (counted and checked here).

    Returns:
        torch.Tensor: The loss (scalar), or (N,) losses.
    """
    if reduction not in ('sum', 'none'):
        raise ValueError(
            f"reduction must be 'sum' or 'none', got {reduction!r}.")
    if deltas.dim() != 2 or deltas.shape[1] != 4 or deltas.shape[0] == 0:
        raise ValueError(
            f'deltas must be (P, 4) with P >= 1, got {tuple(deltas.shape)}.')
    num_props = deltas.shape[0]
    for name, value, shape in (('deltas_perturbed', deltas_perturbed,
                                (num_props, 4)), ('probs', probs,
                                                  (num_props, )),
                               ('probs_perturbed', probs_perturbed,
                                (num_props, ))):
        if tuple(value.shape) != shape:
            raise ValueError(f'{name} must have shape {shape}, got '
                             f'{tuple(value.shape)}.')
    batches = _mask_batches(mask)
    # Mask size and smoothness of every mask, in order.
    regulariser = torch.cat([
        l1_coeff * batch.abs().sum(dim=(1, 2, 3)) +
        tv_coeff * tv_norm(batch, beta=tv_beta) for batch in batches
    ])
    num_masks = regulariser.shape[0]
    if mask_counts is not None:
        if mask_index is None or mask_counts.shape != (num_masks, ):
            raise ValueError('mask_counts must be given with mask_index, '
                             f'with shape ({num_masks},).')
        mask_index, counts = mask_index.long(), mask_counts
    else:
        mask_index, counts = _checked_mask_index(mask_index, num_props,
                                                 num_masks, deltas.device)

    per_proposal = (
        box_weight * (deltas - deltas_perturbed).abs().mean(dim=1) +
        cls_weight * (probs - probs_perturbed).abs())
    # Per-mask mean over its own proposals.
    perturb = per_proposal.new_zeros(num_masks).index_add(
        0, mask_index, per_proposal) / counts.to(per_proposal.dtype)
    losses = perturb + regulariser
    if isinstance(mask, torch.Tensor) and mask.dim() < 4:
        return losses[0]
    return losses.sum() if reduction == 'sum' else losses
