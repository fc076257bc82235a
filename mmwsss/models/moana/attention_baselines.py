# Copyright (c) mmwsss contributors. All rights reserved.
"""Context-fusion attention necks that RFGA / MoANA compare against.

Each neck calibrates one feature map in place and follows the tensor / tuple
contract of :class:`~mmwsss.models.moana.neck.BaseAttentionNeck`.
"""
import math
from abc import abstractmethod
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor, nn

from mmwsss.registry import MODELS
from .neck import BaseAttentionNeck


class ChannelAttentionNeck(BaseAttentionNeck):
    """A neck that multiplies its map by one channel attention (B, C, 1, 1),
    returned as ``{'channel': attention}``.

    Subclasses implement :meth:`channel_attention`.
    """

    @abstractmethod
    def channel_attention(self, x: Tensor) -> Tensor:
        """The (B, C, 1, 1) attention of a (B, C, H, W) map."""

    def forward_with_attention(self,
                               x: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        att = self.channel_attention(x)
        return x * att, dict(channel=att)


@MODELS.register_module()
class SENeck(ChannelAttentionNeck):
    """Squeeze-and-Excitation neck.

    Paper: `Squeeze-and-Excitation Networks
    <https://arxiv.org/abs/1709.01507>`_.

    ``y = x * sigmoid(W2 relu(W1 GAP(x)))`` with a bottleneck of
    ``in_channels // ratio`` channels (at least 1).

    Args:
        in_channels (int): Number of channels C of the calibrated map.
        ratio (int): Channel reduction ratio r. Defaults to 16.
        **kwargs: Arguments of :class:`BaseAttentionNeck` (``in_index``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: int,
                 ratio: int = 16,
                 **kwargs):
        super().__init__(**kwargs)
        hidden = max(in_channels // ratio, 1)
        self.reduce = nn.Conv2d(in_channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, in_channels, 1)

    def channel_attention(self, x: Tensor) -> Tensor:
        squeezed = x.mean(dim=(2, 3), keepdim=True)
        return torch.sigmoid(self.expand(torch.relu(self.reduce(squeezed))))


@MODELS.register_module()
class CBAMNeck(BaseAttentionNeck):
    """Convolutional Block Attention Module neck.

    Paper: `CBAM: Convolutional Block Attention Module
    <https://arxiv.org/abs/1807.06521>`_.

    Channel attention then spatial attention, applied in sequence:
    ``M_c = sigmoid(MLP(avgpool(x)) + MLP(maxpool(x)))`` with a shared
    bottleneck MLP, ``x' = x * M_c``;
    ``M_s = sigmoid(conv_kxk([mean_C(x'); max_C(x')]))``, ``y = x' * M_s``.

    Args:
        in_channels (int): Number of channels C of the calibrated map.
        ratio (int): Channel reduction ratio r of the MLP. Defaults to 16.
        spatial_kernel_size (int): Odd kernel size of the spatial
            convolution. Defaults to 7.
        **kwargs: Arguments of :class:`BaseAttentionNeck` (``in_index``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: int,
                 ratio: int = 16,
                 spatial_kernel_size: int = 7,
                 **kwargs):
        super().__init__(**kwargs)
        if spatial_kernel_size % 2 != 1:
            raise ValueError('spatial_kernel_size must be odd, got '
                             f'{spatial_kernel_size}')
        hidden = max(in_channels // ratio, 1)
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, in_channels, 1))
        self.spatial_conv = nn.Conv2d(
            2,
            1,
            spatial_kernel_size,
            padding=spatial_kernel_size // 2,
            bias=False)

    def forward_with_attention(self,
                               x: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Calibrate a map; the attentions are ``{'channel': (B, C, 1, 1),
        'spatial': (B, 1, H, W)}``."""
        channel_att = torch.sigmoid(
            self.mlp(x.mean(dim=(2, 3), keepdim=True)) +
            self.mlp(x.amax(dim=(2, 3), keepdim=True)))
        x = x * channel_att
        pooled = torch.cat(
            [x.mean(dim=1, keepdim=True),
             x.amax(dim=1, keepdim=True)], dim=1)
        spatial_att = torch.sigmoid(self.spatial_conv(pooled))
        return x * spatial_att, dict(channel=channel_att, spatial=spatial_att)


@MODELS.register_module()
class ECANeck(ChannelAttentionNeck):
    """Efficient Channel Attention neck.

    Paper: `ECA-Net: Efficient Channel Attention for Deep Convolutional
    Neural Networks <https://arxiv.org/abs/1910.03151>`_.

    ``y = x * sigmoid(conv1d_k(GAP(x)))``, where the 1-D kernel slides along
    the channel axis. Without an explicit size, k is the odd number nearest
    above ``|log2(C) / gamma + b / gamma|`` (ECA-Net Eq. 12).

    Args:
        in_channels (int): Number of channels C of the calibrated map.
        kernel_size (int, optional): Odd kernel size k; None picks it from
            ``in_channels``. Defaults to None.
        gamma (int): gamma of the adaptive kernel size. Defaults to 2.
        b (int): b of the adaptive kernel size. Defaults to 1.
        **kwargs: Arguments of :class:`BaseAttentionNeck` (``in_index``,
            ``init_cfg``).
    """

    def __init__(self,
                 in_channels: int,
                 kernel_size: Optional[int] = None,
                 gamma: int = 2,
                 b: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if kernel_size is None:
            t = int(abs(math.log2(in_channels) / gamma + b / gamma))
            kernel_size = t if t % 2 else t + 1
        elif kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(
            1, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def channel_attention(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        att = self.conv(x.mean(dim=(2, 3)).unsqueeze(1)).view(b, c, 1, 1)
        return torch.sigmoid(att)
