# Copyright (c) mmwsss contributors. All rights reserved.
"""IRNet training losses: pair affinities and displacement consistency."""
from typing import Dict

import torch

from .path_index import PathIndex, edge_to_affinity, pair_displacement

_EPS = 1e-5


def masked_pair_mean(term: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sum(mask * term) / (sum(mask) + 1e-5)`` over the whole batch, the
    pair-loss mean of IRNet and AffinityNet."""
    return (mask * term).sum() / (mask.sum() + _EPS)


def irn_losses(edge_logit: torch.Tensor, displacement: torch.Tensor,
               bg_pos: torch.Tensor, fg_pos: torch.Tensor, neg: torch.Tensor,
               path_index: PathIndex) -> Dict[str, torch.Tensor]:
    """The four IRNet losses and their total.

    With the affinity ``a = 1 - max(sigmoid(edge_logit))`` along each path:

    * ``loss_pos_aff = (mean_bg(-log(a + eps)) + mean_fg(-log(a + eps))) / 2``;
    * ``loss_neg_aff = mean_neg(-log(1 + eps - a))``;
    * ``loss_dp_fg = sum_fg |D(src) - D(dst) - d| / (2 #fg + eps)`` with
      ``d = (dy, dx)`` the pair direction, summed over both channels;
    * ``loss_dp_bg = sum_bg |D(src) - D(dst)| / (2 #bg + eps)``;
    * ``loss_total = (pos + neg) / 2 + (dp_fg + dp_bg) / 2``,

    where every mean is ``sum(mask * term) / (sum(mask) + eps)`` over the whole
    batch and ``eps = 1e-5``.

    Half-precision inputs (``--amp``) are computed in float32, with autocast
    off: in float16 and bfloat16 ``1 + eps`` rounds to 1, so the negative
    term is ``-log(0) = inf`` wherever ``a = 1`` (a path without boundary),
    and the sums over all pairs overflow float16. float32 and float64
    inputs keep their precision.

    Args:
        edge_logit (torch.Tensor): (B, 1, H, W) boundary logits.
        displacement (torch.Tensor): (B, 2, H, W) displacement field
            (channel 0 = dy, 1 = dx).
        bg_pos (torch.Tensor): (B, Ndir, Nsrc) background positive pairs
            (bool or 0/1).
        fg_pos (torch.Tensor): (B, Ndir, Nsrc) foreground positive pairs.
        neg (torch.Tensor): (B, Ndir, Nsrc) negative pairs.
        path_index (PathIndex): Pairs on the (H, W) grid.

    Returns:
        dict[str, torch.Tensor]: Scalars ``loss_bg_pos_aff``,
        ``loss_fg_pos_aff``, ``loss_pos_aff``, ``loss_neg_aff``,
        ``loss_dp_fg``, ``loss_dp_bg`` and ``loss_total``, float32 (float64
        for float64 inputs).
    """
    with torch.autocast(edge_logit.device.type, enabled=False):
        return _irn_losses(edge_logit, displacement, bg_pos, fg_pos, neg,
                           path_index)


def _irn_losses(edge_logit: torch.Tensor, displacement: torch.Tensor,
                bg_pos: torch.Tensor, fg_pos: torch.Tensor, neg: torch.Tensor,
                path_index: PathIndex) -> Dict[str, torch.Tensor]:
    dtype = torch.promote_types(edge_logit.dtype, torch.float32)
    edge_logit, displacement = edge_logit.to(dtype), displacement.to(dtype)
    bg_pos, fg_pos, neg = (m.to(dtype) for m in (bg_pos, fg_pos, neg))

    aff = edge_to_affinity(torch.sigmoid(edge_logit), path_index)
    loss_bg_pos = masked_pair_mean(-torch.log(aff + _EPS), bg_pos)
    loss_fg_pos = masked_pair_mean(-torch.log(aff + _EPS), fg_pos)
    loss_pos = (loss_bg_pos + loss_fg_pos) / 2
    loss_neg = masked_pair_mean(-torch.log(1 + _EPS - aff), neg)

    pair_disp = pair_displacement(displacement, path_index)
    target = torch.tensor(
        path_index.search_dst.T, dtype=dtype,
        device=displacement.device)[None, :, :, None]
    loss_dp_fg = ((pair_disp - target).abs() *
                  fg_pos.unsqueeze(1)).sum() / (2 * fg_pos.sum() + _EPS)
    loss_dp_bg = (pair_disp.abs() *
                  bg_pos.unsqueeze(1)).sum() / (2 * bg_pos.sum() + _EPS)

    return dict(
        loss_bg_pos_aff=loss_bg_pos,
        loss_fg_pos_aff=loss_fg_pos,
        loss_pos_aff=loss_pos,
        loss_neg_aff=loss_neg,
        loss_dp_fg=loss_dp_fg,
        loss_dp_bg=loss_dp_bg,
        loss_total=(loss_pos + loss_neg) / 2 + (loss_dp_fg + loss_dp_bg) / 2)
