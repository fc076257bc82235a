# Copyright (c) mmwsss contributors. All rights reserved.
"""Mask R-CNN mask loss with ignore regions and seed growing (BBAM)."""
from typing import Optional

import torch
import torch.nn.functional as F


def _balanced_bce(logits: torch.Tensor, positive: torch.Tensor,
                  negative: torch.Tensor) -> torch.Tensor:
    # Half the mean BCE over each of the two disjoint sets; 0 (keeping the
    # graph) if one is empty. Masked sums instead of boolean indexing and
    # emptiness tests: nothing is read on the host (no wait for a GPU).
    positive = positive.to(logits.dtype)
    negative = negative.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(
        logits, positive, reduction='none')
    num_pos, num_neg = positive.sum(), negative.sum()
    loss_pos = (bce * positive).sum() / num_pos.clamp(min=1)
    loss_neg = (bce * negative).sum() / num_neg.clamp(min=1)
    both = ((num_pos > 0) & (num_neg > 0)).to(logits.dtype)
    return (loss_pos + loss_neg) / 2 * both


def _check_shapes(mask_logits: torch.Tensor, targets_fg: torch.Tensor,
                  targets_ignore: Optional[torch.Tensor]) -> None:
    if mask_logits.dim() != 3:
        raise ValueError('mask_logits must be (P, M, M), got '
                         f'{tuple(mask_logits.shape)}.')
    for name, target in (('targets_fg', targets_fg), ('targets_ignore',
                                                      targets_ignore)):
        if target is not None and target.shape != mask_logits.shape:
            raise ValueError(
                f'{name} must match mask_logits {tuple(mask_logits.shape)}, '
                f'got {tuple(target.shape)}.')


def seed_growing_targets(mask_logits: torch.Tensor,
                         targets_fg: torch.Tensor,
                         targets_ignore: torch.Tensor,
                         grow_threshold: float = 0.9,
                         *,
                         grow: bool = True) -> torch.Tensor:
    """Per-pixel labels of the seed-growing mask loss.

    With ``F`` the projected foreground mask (rank fraction 0.85), ``G0`` the
    projected ignore mask (rank fraction 0.2) and ``s = sigmoid(logits)``:

    1. seeds ``fg = F | (s > t)`` and ``bg = (1 - G0) | (s < 1 - t)``
       (without ``grow``: ``fg = F``, ``bg = 1 - G0``, the ablation
       "without G" of dissertation Table 5.5);
    2. the initial seeds of the other side win: ``fg &= G0``, ``bg &= ~F``;
    3. a pixel is labelled 1 if it is in ``fg`` and one of its 8 neighbours
       is too (zero padding), 0 likewise for ``bg``, and -1 (ignored)
       otherwise.

    Targets are binary; values above 0.5 count as inside.

    Args:
        mask_logits (torch.Tensor): (P, M, M) mask logits of each positive
            RoI's own class.
        targets_fg (torch.Tensor): (P, M, M) projected foreground masks.
        targets_ignore (torch.Tensor): (P, M, M) projected ignore masks.
        grow_threshold (float): Probability above which a pixel joins the
            foreground (below ``1 - grow_threshold`` the background).
            Defaults to 0.9.
        grow (bool): Grow the seeds with the predictions. Defaults to True.

    Returns:
        torch.Tensor: int8 (P, M, M) labels in {1, 0, -1}.
    """
    _check_shapes(mask_logits, targets_fg, targets_ignore)
    fg_init = targets_fg > 0.5
    bg_init = targets_ignore <= 0.5
    probs = mask_logits.detach().sigmoid()
    if grow:
        fg = (fg_init | (probs > grow_threshold)) & ~bg_init
        bg = (bg_init | (probs < 1 - grow_threshold)) & ~fg_init
    else:
        # the formulas above with nothing grown
        fg, bg = fg_init & ~bg_init, bg_init & ~fg_init
    # Number of 8-neighbours in each seed set.
    kernel = probs.new_ones(1, 1, 3, 3)
    kernel[0, 0, 1, 1] = 0
    seeds = torch.stack([fg, bg], dim=1).flatten(0, 1)[:, None]
    neighbours = F.conv2d(
        seeds.to(probs.dtype), kernel, padding=1).view(-1, 2, *probs.shape[1:])
    # torch.where, not boolean-mask assignment (which finds the pixels on
    # the host).
    labels = torch.full_like(fg, -1, dtype=torch.int8)
    labels = torch.where(bg & (neighbours[:, 1] > 0), 0, labels)
    return torch.where(fg & (neighbours[:, 0] > 0), 1, labels)


def seed_growing_mask_loss(mask_logits: torch.Tensor,
                           targets_fg: torch.Tensor,
                           targets_ignore: Optional[torch.Tensor] = None,
                           grow_threshold: float = 0.9,
                           *,
                           grow: bool = True) -> torch.Tensor:
    """BBAM's Mask R-CNN mask loss: ignore band plus seed growing.

    ``loss = (mean BCE over label 1 + mean BCE over label 0) / 2`` with the
    labels of :func:`seed_growing_targets`, and 0 when either set is empty.
    Without ``targets_ignore`` the loss is the same balanced BCE on the
    foreground targets (label 1 inside, 0 elsewhere, no growing). The
    reference also falls back to that loss when its two annotation files
    disagree on the number of objects, which hides a pairing error; here
    mismatched targets raise ``ValueError``.

    Args:
        mask_logits (torch.Tensor): (P, M, M) mask logits of each positive
            RoI's own class.
        targets_fg (torch.Tensor): (P, M, M) projected foreground masks.
        targets_ignore (torch.Tensor, optional): (P, M, M) projected ignore
            masks. Defaults to None.
        grow_threshold (float): See :func:`seed_growing_targets`. Defaults to
            0.9.
        grow (bool): See :func:`seed_growing_targets`. Defaults to True.

    Returns:
        torch.Tensor: Scalar loss.
    """
    _check_shapes(mask_logits, targets_fg, targets_ignore)
    if targets_ignore is None:
        fg_init = targets_fg > 0.5
        return _balanced_bce(mask_logits, fg_init, ~fg_init)
    labels = seed_growing_targets(
        mask_logits, targets_fg, targets_ignore, grow_threshold, grow=grow)
    return _balanced_bce(mask_logits, labels == 1, labels == 0)
