# Copyright (c) mmwsss contributors. All rights reserved.
"""DeepLab-v2 ASPP head."""
from typing import List, Sequence

from mmcv.cnn import build_conv_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor, nn

from mmwsss.registry import MODELS


@MODELS.register_module()
class ASPPv2Head(BaseDecodeHead):
    """Atrous spatial pyramid pooling head of DeepLab-v2.

    `DeepLab: Semantic Image Segmentation with Deep Convolutional Nets,
    Atrous Convolution, and Fully Connected CRFs
    <https://arxiv.org/abs/1606.00915>`_ (ASPP-L, the classifier of
    DeepLab-v2-ResNet-101 that WSSS methods train on pseudo-masks).

    Each branch is a plain 3x3 convolution with dilation ``r`` (padding
    ``r``) straight from the backbone feature to the class scores; the
    branch outputs are summed. Unlike mmseg's ``ASPPHead`` (DeepLab-v3) there
    is no image pooling, 1x1 branch, normalisation, activation, bottleneck,
    dropout or ``conv_seg``: :meth:`forward` returns the logits. The unused
    ``conv_seg`` of :class:`BaseDecodeHead` is removed, so DDP needs no
    ``find_unused_parameters``; ``channels`` is therefore not an argument.
    Loss and inference are those of :class:`BaseDecodeHead`.

    Args:
        in_channels (int): Channels of the input feature (2048 for
            ResNet-101).
        dilations (Sequence[int]): Dilation rate of each branch.
            Defaults to (6, 12, 18, 24).
        loss_decode (dict | Sequence[dict]): Loss config(s). Defaults to
            ``dict(type='mmseg.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0)`` (prefixed, so the head builds in any scope).
        init_cfg (dict | list[dict]): Initialisation; DeepLab draws the
            classifier weights from N(0, 0.01) with zero bias. Defaults to
            ``dict(type='Normal', std=0.01, bias=0, layer='Conv2d')``.
        **kwargs: Other arguments of :class:`BaseDecodeHead` (``num_classes``
            is required; ``dropout_ratio``, ``norm_cfg`` and ``act_cfg`` do
            not apply).
    """

    def __init__(self,
                 in_channels: int,
                 dilations: Sequence[int] = (6, 12, 18, 24),
                 loss_decode=dict(
                     type='mmseg.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=1.0),
                 init_cfg=dict(type='Normal', std=0.01, bias=0,
                               layer='Conv2d'),
                 **kwargs):
        if not dilations:
            raise ValueError('ASPPv2Head needs at least one dilation rate')
        # `channels` only sizes BaseDecodeHead's conv_seg, deleted below.
        super().__init__(
            in_channels,
            channels=1,
            dropout_ratio=0.,
            loss_decode=loss_decode,
            init_cfg=init_cfg,
            **kwargs)
        del self.conv_seg
        self.dilations = tuple(dilations)
        self.aspp_convs = nn.ModuleList([
            build_conv_layer(
                self.conv_cfg,
                self.in_channels,
                self.out_channels,
                kernel_size=3,
                padding=rate,
                dilation=rate,
                bias=True) for rate in self.dilations
        ])

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Sum of the dilated branches.

        Args:
            inputs (list[Tensor]): Backbone features.

        Returns:
            Tensor: (N, out_channels, H, W) logits at the feature resolution.
        """
        x = self._transform_inputs(inputs)
        return sum(conv(x) for conv in self.aspp_convs)
