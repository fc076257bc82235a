# Copyright (c) mmwsss contributors. All rights reserved.
"""mmpretrain's Conformer with its transformer attention exposed."""
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.backbones import Conformer

from mmwsss.registry import MODELS
from .functional import AttentionAccumulator


class _AttentionTap:
    """Stand-in for ``MultiheadAttention.scaled_dot_product_attention``.

    With no sink it calls the original (fused) kernel, which never
    materialises the weights. With a sink it computes the softmax weights
    explicitly, hands them to the sink and applies them to the values, so the
    block's output is unchanged. A callable object rather than a closure so
    that ``copy.deepcopy`` of the model (EMA, ...) gets its own tap.
    """

    def __init__(self, fused: Callable) -> None:
        self.fused = fused
        self.sink: Optional[Callable[[torch.Tensor], None]] = None

    def __call__(self,
                 query: torch.Tensor,
                 key: torch.Tensor,
                 value: torch.Tensor,
                 attn_mask: Optional[torch.Tensor] = None,
                 dropout_p: float = 0.,
                 **kwargs) -> torch.Tensor:
        if self.sink is None:
            return self.fused(
                query,
                key,
                value,
                attn_mask=attn_mask,
                dropout_p=dropout_p,
                **kwargs)
        if attn_mask is not None or kwargs:
            raise NotImplementedError(
                'Attention recording supports plain self-attention only.')
        weights = torch.softmax(
            query @ key.transpose(-2, -1) * query.size(-1)**-0.5, dim=-1)
        self.sink(weights)
        if dropout_p > 0:
            weights = F.dropout(weights, dropout_p)
        return weights @ value


@MODELS.register_module()
class AttnConformer(Conformer):
    """Conformer whose per-block attention can be read, for TransCAM.

    mmpretrain's :class:`~mmpretrain.models.backbones.Conformer` computes
    attention with the fused ``scaled_dot_product_attention`` and never
    returns the weights. This subclass swaps that call, in every transformer
    layer (``trans_1`` and the 11 ``conv_trans_i.trans_block``), for a tap
    that is a no-op in the ordinary :meth:`forward` and, in
    :meth:`forward_attention`, computes the softmax weights explicitly and
    adds their head mean to an :class:`AttentionAccumulator` layer by layer.
    Only one (B, N, N) running sum is kept: the per-layer (B, heads, N, N)
    weights live only as long as autograd needs them (for the attention
    output itself); no (L, B, heads, N, N) stack is built.

    TransCAM (``network/conformer_CAM.py``) takes its CAM from the last CNN
    map at stride 16, on the token grid. mmpretrain's last block, like the
    original Conformer, downsamples its fusion block once more (stride 32);
    ``last_fusion_stride=1`` (the default here) runs that block's stride-2
    convolutions with stride 1, which keeps every weight shape, so ImageNet
    Conformer checkpoints load unchanged.

    Args:
        last_fusion_stride (int): Stride of the last block's fusion
            convolutions, 1 (TransCAM, stride-16 output) or 2 (mmpretrain,
            stride 32). Defaults to 1.
        **kwargs: Arguments of :class:`~mmpretrain.models.backbones.Conformer`
            (``arch``, ``patch_size``, ``drop_path_rate``, ...).
    """

    def __init__(self, last_fusion_stride: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        if last_fusion_stride not in (1, 2):
            raise ValueError('last_fusion_stride must be 1 or 2, got '
                             f'{last_fusion_stride}.')
        last = self.last_block
        if last.last_fusion and last_fusion_stride == 1:
            last.fusion_block.conv2.stride = (1, 1)
            last.fusion_block.residual_conv.stride = (1, 1)
        attns = [layer.attn for layer in self.transformer_layers()]
        # One tap shared by all layers: one switch turns recording on.
        self._tap = _AttentionTap(attns[0].scaled_dot_product_attention)
        for attn in attns:
            attn.scaled_dot_product_attention = self._tap

    @property
    def last_block(self) -> torch.nn.Module:
        """The last ``ConvTransBlock``."""
        return getattr(self, f'conv_trans_{self.fin_stage - 1}')

    def transformer_layers(self) -> List[torch.nn.Module]:
        """The transformer layers in forward order (``depths`` of them)."""
        return [self.trans_1] + [
            getattr(self, f'conv_trans_{i}').trans_block
            for i in range(2, self.fin_stage)
        ]

    def forward_attention(self,
                          x: torch.Tensor,
                          with_attention: bool = True,
                          keep_layers: bool = False) -> Dict[str, object]:
        """Run the network and collect what TransCAM needs.

        Args:
            x (torch.Tensor): (B, 3, H, W) images; the token grid is
                ``ceil(H / patch_size) x ceil(W / patch_size)``.
            with_attention (bool): Record the attention. Without it the
                fused attention kernel runs and ``attention`` is None (plain
                TransCAM training needs no attention). Defaults to True.
            keep_layers (bool): Also return every layer's full attention
                (B, heads, N, N), as the reference stacks it (for inspection
                and comparison; costs L such maps). Defaults to False.

        Returns:
            dict: ``conv_map`` (B, C, h, w), the last CNN map; ``cls_token``
            (B, embed_dims), the LayerNorm'ed class token; ``attention``, an
            :class:`AttentionAccumulator` holding the sum (``total``) and
            mean (``mean``) over layers of the head-mean attention
            (B, N, N), ``N = 1 + h * w`` when ``last_fusion_stride=1``; and,
            with ``keep_layers``, ``layers``: the list of per-layer
            attention weights.
        """
        if not self.with_cls_token:
            raise ValueError('TransCAM needs the class token.')
        accumulator = AttentionAccumulator()
        layers: List[torch.Tensor] = []
        captured = {}

        def sink(weights: torch.Tensor) -> None:
            if keep_layers:
                layers.append(weights)
            accumulator.add(weights)

        def grab_last(module, args, output):
            captured['conv_map'], captured['tokens'] = output

        handle = self.last_block.register_forward_hook(grab_last)
        self._tap.sink = sink if with_attention else None
        try:
            super().forward(x)
        finally:
            self._tap.sink = None
            handle.remove()
        out = dict(
            conv_map=captured['conv_map'],
            cls_token=self.trans_norm(captured['tokens'])[:, 0],
            attention=accumulator if with_attention else None)
        if keep_layers:
            out['layers'] = layers
        return out
