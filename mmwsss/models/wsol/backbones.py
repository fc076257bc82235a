# Copyright (c) mmwsss contributors. All rights reserved.
"""The VGG16 and InceptionV3 of the WSOL protocol (clovaai/wsolevaluation).

Both reuse mmpretrain's layers with mmpretrain's parameter names, so
mmpretrain's ImageNet checkpoints load with ``prefix='backbone.'``; only the
layers that the protocol adds (``conv6``, ``SPG_A3_*``) start untrained. The
class maps come from :class:`mmwsss.CAMHead` (1x1 conv on the last map).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.backbones.inception_v3 import (BasicConv2d, InceptionA,
                                                      InceptionB, InceptionC)
from mmpretrain.models.backbones.vgg import VGG, make_vgg_layer

from mmwsss.registry import MODELS


@MODELS.register_module()
class WSOLVGG(VGG):
    """VGG with the CAM tail of wsolevaluation (VGG16-GAP).

    mmpretrain's VGG stages without the last max pool (output stride 16:
    14 x 14 maps at 224), then ``conv6`` (3x3 conv, ``conv6_channels``
    outputs) + ReLU, whose map the head pools and classifies. With
    ``large_feature_map`` the max pool after the second-to-last stage is
    skipped as well (output stride 8, 28 x 28 at 224). A layer that is skipped
    becomes ``nn.Identity`` so the layer indices, and with them mmpretrain's
    checkpoint keys (``features.{i}.conv``), do not move.

    The CAM of wsolevaluation is the channel mean of ``w_c * F`` (F the conv6
    map, ``w_c`` the classifier weights of class c, no bias); the 1x1-conv
    head gives ``C * CAM + b_c``, which normalises to the same score map.

    Args:
        depth (int | Sequence[int]): 11, 13, 16 or 19 (mmpretrain's VGGs), or
            the number of 3x3 convs of each stage. Defaults to 16.
        stage_channels (Sequence[int]): Output channels of each stage.
            Defaults to (64, 128, 256, 512, 512).
        large_feature_map (bool): Output stride 8 instead of 16. Defaults
            to False.
        conv6_channels (int, optional): Channels of ``conv6``; None leaves
            it out (plain VGG features). Defaults to 1024.
        out_indices (Sequence[int]): Stages whose maps are returned before
            the conv6 map. Defaults to () with conv6, else the last stage.
        frozen_stages (int): Stages to freeze. Defaults to -1.
        norm_cfg (dict, optional): Norm layer of the convs (VGG-BN).
            Defaults to None (wsolevaluation's VGG16 has no BN).
        norm_eval (bool): Keep BN in eval mode. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to the reference's He init
            of every conv (kaiming-normal, fan-out, zero bias).
    """

    def __init__(self,
                 depth: Union[int, Sequence[int]] = 16,
                 stage_channels: Sequence[int] = (64, 128, 256, 512, 512),
                 large_feature_map: bool = False,
                 conv6_channels: Optional[int] = 1024,
                 out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1,
                 norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 init_cfg=dict(type='Kaiming', layer='Conv2d')):
        # mmpretrain's VGG.__init__ fixes the widths; the layers are made
        # here with its make_vgg_layer and its forward layout is kept.
        BaseBackbone.__init__(self, init_cfg)
        stage_blocks = (
            self.arch_settings[depth] if isinstance(depth, int) else
            tuple(depth))
        if len(stage_channels) != len(stage_blocks):
            raise ValueError(f'{len(stage_blocks)} stages but '
                             f'{len(stage_channels)} stage_channels')
        num_stages = len(stage_blocks)
        if out_indices is None:
            out_indices = () if conv6_channels else (num_stages - 1, )
        if not conv6_channels and not out_indices:
            raise ValueError('nothing to return: set conv6_channels or '
                             'out_indices')
        self.stage_blocks = stage_blocks
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.num_classes = -1
        self.module_name = 'features'
        layers, self.range_sub_modules = [], []
        in_channels = 3
        for i, (num_blocks, channels) in enumerate(
                zip(stage_blocks, stage_channels)):
            stage = make_vgg_layer(
                in_channels, channels, num_blocks, norm_cfg=norm_cfg)
            if i == num_stages - 1:
                stage = stage[:-1]
            elif i == num_stages - 2 and large_feature_map:
                stage[-1] = nn.Identity()
            self.range_sub_modules.append(
                [len(layers), len(layers) + len(stage)])
            layers.extend(stage)
            in_channels = channels
        self.features = nn.Sequential(*layers)
        self.conv6 = None
        if conv6_channels:
            self.conv6 = nn.Conv2d(
                in_channels, conv6_channels, kernel_size=3, padding=1)
            # He init as the reference, also when a checkpoint (which has
            # no conv6) initialises the rest.
            nn.init.kaiming_normal_(
                self.conv6.weight, mode='fan_out', nonlinearity='relu')
            nn.init.zeros_(self.conv6.bias)

    def train(self, mode: bool = True) -> 'WSOLVGG':
        """mmpretrain's VGG.train (freezing, norm_eval), returning self
        as ``nn.Module.train`` does (so ``model.eval()`` chains)."""
        super().train(mode)
        return self

    def forward(self, x: torch.Tensor) -> tuple:
        """The maps of ``out_indices`` then the ReLU'd conv6 map."""
        outs = []
        for i, (start, end) in enumerate(self.range_sub_modules):
            for j in range(start, end):
                x = self.features[j](x)
            if i in self.out_indices:
                outs.append(x)
        if self.conv6 is not None:
            outs.append(F.relu(self.conv6(x)))
        return tuple(outs)


def _stride_one(block: InceptionB) -> InceptionB:
    """Turn mmpretrain's reducing InceptionB into wsolevaluation's Mixed_6a:
    its strided 3x3 convs and max pool get stride 1 and padding 1 (same
    weights, same size out)."""
    for conv in (block.branch3x3.conv, block.branch3x3dbl_3.conv):
        conv.stride, conv.padding = (1, 1), (1, 1)
    block.branch_pool = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
    return block


def _conv_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """A 3x3 conv (padding 1, bias) + ReLU, xavier-uniform as the
    reference (kept when a checkpoint initialises the rest)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    nn.init.xavier_uniform_(conv.weight)
    nn.init.zeros_(conv.bias)
    return nn.Sequential(conv, nn.ReLU(inplace=True))


@MODELS.register_module()
class WSOLInceptionV3(BaseBackbone):
    """InceptionV3 as wsolevaluation's ``InceptionCam`` uses it.

    mmpretrain's InceptionV3 blocks up to ``Mixed_6e`` with the WSOL
    changes: the first conv has padding 1, the two stem max pools are
    3x3 / stride 2 / padding 1 with ``ceil_mode``, ``Mixed_6a`` keeps the
    resolution (stride 1, padding 1), there is no ``Mixed_7*``, and a max pool
    (3x3 / 2, ceil) before ``Mixed_6a`` is applied unless
    ``large_feature_map`` (maps of 14 x 14, or 28 x 28, at 224). Then the
    tail ``SPG_A3_1b`` and ``SPG_A3_2b`` (3x3 conv + ReLU each,
    ``tail_channels`` wide), with dropout before each of them and after the
    second one (training only), as the reference puts dropout before its
    1x1 classifier. The CAM of wsolevaluation is the raw class map of that
    classifier (bias included): :class:`mmwsss.CAMHead` with ``bias=True``.

    Args:
        large_feature_map (bool): Skip the max pool before ``Mixed_6a``.
            Defaults to False.
        tail_channels (int): Width of the two tail convs. Defaults to 1024.
        dropout (float): Dropout probability of the tail. Defaults to 0.5.
        out_indices (Sequence[int]): Maps to return, of 0 = the input of
            ``Mixed_6a``, 1 = ``Mixed_6e``, 2 = the tail. Defaults to (2, ).
        init_cfg (dict | list[dict]): Defaults to the reference's init:
            xavier-uniform convs with zero bias, BN weight 1 and bias 0.
    """

    def __init__(self,
                 large_feature_map: bool = False,
                 tail_channels: int = 1024,
                 dropout: float = 0.5,
                 out_indices: Sequence[int] = (2, ),
                 init_cfg=[
                     dict(type='Xavier', layer='Conv2d',
                          distribution='uniform'),
                     dict(type='Constant', layer='BatchNorm2d', val=1)
                 ]):
        super().__init__(init_cfg=init_cfg)
        if not set(out_indices) <= {0, 1, 2} or not out_indices:
            raise ValueError(f'out_indices must be a non-empty subset of '
                             f'(0, 1, 2), got {out_indices}')
        self.large_feature_map = large_feature_map
        self.dropout = dropout
        self.out_indices = tuple(out_indices)
        self.Conv2d_1a_3x3 = BasicConv2d(
            3, 32, kernel_size=3, stride=2, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = _stride_one(InceptionB(288))
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.SPG_A3_1b = _conv_relu(768, tail_channels)
        self.SPG_A3_2b = _conv_relu(tail_channels, tail_channels)

    def train(self, mode: bool = True) -> 'WSOLInceptionV3':
        """``nn.Module.train``, returning self (mmpretrain's BaseBackbone
        returns None)."""
        super().train(mode)
        return self

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.dropout, self.training)

    def forward(self, x: torch.Tensor) -> tuple:
        """The maps selected by ``out_indices``."""
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1, ceil_mode=True)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1, ceil_mode=True)
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        if not self.large_feature_map:
            x = F.max_pool2d(x, kernel_size=3, stride=2, ceil_mode=True)
        maps = [x]
        for block in (self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e):
            x = block(x)
        maps.append(x)
        x = self.SPG_A3_1b(self._drop(x))
        x = self.SPG_A3_2b(self._drop(x))
        maps.append(self._drop(x))
        return tuple(maps[i] for i in self.out_indices)
