# Copyright (c) mmwsss contributors. All rights reserved.
"""Attention-based Dropout Layer (ADL)."""
from typing import Tuple

import torch
import torch.nn as nn

from mmwsss.registry import MODELS


def adl_maps(x: torch.Tensor, drop_threshold: float
             ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The self-attention map of ADL and the two maps drawn from it.

    Args:
        x (Tensor): (B, C, H, W) features.
        drop_threshold (float): Drop where the attention is below this
            fraction of the image's maximum attention (gamma).

    Returns:
        tuple[Tensor, Tensor, Tensor]: (B, 1, H, W) ``attention`` (channel
        mean), ``importance_map`` (its sigmoid) and ``drop_mask`` (1 where
        ``attention < drop_threshold * max``, float). An image whose maximum
        attention is negative keeps everything (its threshold is above the
        maximum), as in the reference.
    """
    attention = x.mean(dim=1, keepdim=True)
    importance_map = torch.sigmoid(attention)
    max_val = attention.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    drop_mask = (attention < max_val * drop_threshold).to(x.dtype)
    return attention, importance_map, drop_mask


def adl_use_drop_mask(uniform: torch.Tensor, drop_rate: float) -> bool:
    """Whether a forward uses the drop mask: ``floor(u + drop_rate) == 1``.

    The reference adds in float32, which decides draws just below
    ``1 - drop_rate``.

    Args:
        uniform (Tensor): A float32 scalar draw in [0, 1) (on the CPU).
        drop_rate (float): Probability to use the drop mask.

    Returns:
        bool: True for the drop mask, False for the importance map.
    """
    return bool(torch.floor(uniform.float() + drop_rate) >= 1)


def adl(x: torch.Tensor, use_drop_mask: bool,
        drop_threshold: float) -> torch.Tensor:
    """Training-mode ADL: ``x`` times the drop mask or the importance map.

    Args:
        x (Tensor): (B, C, H, W) features.
        use_drop_mask (bool): See :func:`adl_use_drop_mask`; one choice for
            the whole batch.
        drop_threshold (float): See :func:`adl_maps`.

    Returns:
        Tensor: (B, C, H, W) features.
    """
    _, importance_map, drop_mask = adl_maps(x, drop_threshold)
    return x * (drop_mask if use_drop_mask else importance_map)


@MODELS.register_module()
class ADL(nn.Module):
    """Attention-based Dropout Layer (`Choe and Shim, CVPR 2019
    <https://arxiv.org/abs/1908.10028>`_), as in wsolevaluation.

    In training, every forward draws once (torch's CPU generator, one
    ``torch.rand([])`` as the reference) whether the batch is multiplied by
    the drop mask (probability ``drop_rate``) or by the importance map
    (:func:`adl`). In evaluation it returns its input. No parameters: put it
    after any block with :class:`mmwsss.ADLBackbone`.

    Args:
        drop_rate (float): Probability to use the drop mask. Defaults to
            0.75 (wsolevaluation's ``adl_drop_rate``).
        drop_threshold (float): gamma of :func:`adl_maps`. Defaults to 0.9
            (wsolevaluation's ``adl_threshold``).
    """

    def __init__(self, drop_rate: float = 0.75, drop_threshold: float = 0.9):
        super().__init__()
        if not 0 <= drop_rate <= 1:
            raise ValueError(f'drop_rate must be in [0, 1], got {drop_rate}')
        self.drop_rate = drop_rate
        self.drop_threshold = drop_threshold

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        # Drawn on the CPU generator: the choice is a host-side bool, so the
        # device is never waited for.
        use_drop_mask = adl_use_drop_mask(torch.rand([]), self.drop_rate)
        return adl(x, use_drop_mask, self.drop_threshold)

    def extra_repr(self) -> str:
        return (f'drop_rate={self.drop_rate}, '
                f'drop_threshold={self.drop_threshold}')
