# Copyright (c) mmwsss contributors. All rights reserved.
"""Backbone wrappers that act after named blocks of any backbone: insert ADL
layers, or also return a block's output (the first branch input of SPG)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmwsss.registry import MODELS
from .adl import ADL


class _HookedBackbone(BaseModule):
    """Builds ``backbone`` and checks that the named blocks exist."""

    def __init__(self, backbone: Union[dict, nn.Module], after: Sequence[str],
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.backbone = (
            MODELS.build(backbone) if isinstance(backbone, dict) else backbone)
        self.after = list(after)
        names = dict(self.backbone.named_modules())
        missing = [name for name in self.after if name not in names]
        if missing:
            raise KeyError(f'{type(self.backbone).__name__} has no blocks '
                           f'{missing}; some of its blocks: '
                           f'{[n for n in names if n][:12]}')
        self.blocks = [names[name] for name in self.after]


@MODELS.register_module()
class ADLBackbone(_HookedBackbone):
    """A backbone with an :class:`mmwsss.ADL` after each named block.

    The layers act through forward hooks, so the backbone's parameter names
    (and its pretrained checkpoints) are unchanged. wsolevaluation's
    ResNet-50-ADL has them after the first block of layer3 and after the
    first and third blocks of layer4: ``('layer3.0', 'layer4.0',
    'layer4.2')`` for mmpretrain's ``ResNet``. In evaluation ADL is the
    identity.

    Args:
        backbone (dict | nn.Module): Backbone config (or module).
        adl_after (Sequence[str]): Names (``named_modules``) of the blocks
            whose output goes through ADL, in forward order.
        drop_rate (float): ADL drop rate. Defaults to 0.75.
        drop_threshold (float): ADL threshold gamma. Defaults to 0.9.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 adl_after: Sequence[str],
                 drop_rate: float = 0.75,
                 drop_threshold: float = 0.9,
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, adl_after, init_cfg)
        self.adl_layers = nn.ModuleList(
            ADL(drop_rate, drop_threshold) for _ in self.after)
        for block, layer in zip(self.blocks, self.adl_layers):
            block.register_forward_hook(_ApplyAfter(layer))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return self.backbone(x)


@MODELS.register_module()
class FeatureTapBackbone(_HookedBackbone):
    """A backbone whose outputs are preceded by those of named blocks.

    SPG's first side branch reads the first block of ResNet's layer3
    (``tap_after=('layer3.0', )`` with ``out_indices=(2, 3)`` gives the
    (layer3.0, layer3, layer4) maps that :class:`mmwsss.SPGHead` expects).

    Args:
        backbone (dict | nn.Module): Backbone config (or module).
        tap_after (Sequence[str]): Names of the blocks whose outputs are
            returned first, in this order.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 tap_after: Sequence[str],
                 init_cfg: Optional[dict] = None):
        super().__init__(backbone, tap_after, init_cfg)
        self._taps: List[Optional[torch.Tensor]] = [None] * len(self.after)
        for index, block in enumerate(self.blocks):
            block.register_forward_hook(_Record(self._taps, index))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        outs = tuple(self.backbone(x))
        taps = tuple(self._taps)
        self._taps[:] = [None] * len(self._taps)
        return taps + outs


class _ApplyAfter:
    """Forward hook that replaces a block's output by ``layer(output)``."""

    def __init__(self, layer: nn.Module):
        self.layer = layer

    def __call__(self, module, inputs, output):
        return self.layer(output)


class _Record:
    """Forward hook that stores a block's output in ``store[index]``."""

    def __init__(self, store: list, index: int):
        self.store = store
        self.index = index

    def __call__(self, module, inputs, output):
        self.store[self.index] = output
