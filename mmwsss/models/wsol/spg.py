# Copyright (c) mmwsss contributors. All rights reserved.
"""Self-produced Guidance (SPG)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..heads.cam_head import CAMHead
from .acol import minmax_normalize_maps

#: wsolevaluation's ``spg_thresholds``: (high, low) for the attention (B2),
#: B2's sigmoid (B1) and the fused attention (C).
SPG_THRESHOLDS = ((0.7, 0.01), (0.5, 0.05), (0.7, 0.1))


def _upsample(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    return F.interpolate(
        x, size=tuple(size), mode='bilinear', align_corners=False)


def spg_attention(feat_map: torch.Tensor,
                  labels: torch.Tensor,
                  logits_b1: torch.Tensor,
                  logits_b2: torch.Tensor,
                  size: Sequence[int] = (224, 224)
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """SPG's attention and fused attention (``compute_attention``).

    Args:
        feat_map (Tensor): (B, K, h, w) class maps.
        labels (Tensor): (B, ) classes.
        logits_b1 (Tensor): (B, 1, h1, w1) side-branch logits B1.
        logits_b2 (Tensor): (B, 1, h2, w2) side-branch logits B2.
        size (Sequence[int]): Size everything is bilinearly upsampled to
            (align_corners=False). Defaults to the reference's fixed
            (224, 224).

    Returns:
        tuple[Tensor, Tensor]: (B, 1, *size) ``attention`` (the labels'
        upsampled maps, min-max normalised) and ``fused_attention`` (mean of
        the sigmoids of the upsampled B1 and B2).
    """
    rows = torch.arange(feat_map.size(0), device=feat_map.device)
    # Upsampling is per channel: picking the label's map first is the same.
    attention = minmax_normalize_maps(
        _upsample(feat_map[rows, labels][:, None], size))
    fused = (torch.sigmoid(_upsample(logits_b1, size)) +
             torch.sigmoid(_upsample(logits_b2, size))) / 2
    return attention, fused


def spg_mask(attention: torch.Tensor,
             high: float,
             low: float,
             min_pixels: int = 30,
             fallback_ratio: float = 0.7) -> torch.Tensor:
    """Self-produced guidance mask (``get_mask``): 1 foreground, 0
    background, 255 ignored.

    Foreground is ``attention > high``; an image with fewer than
    ``min_pixels`` such pixels uses ``attention > fallback_ratio * max``
    instead. Background (``attention < low``) overrides foreground.

    Args:
        attention (Tensor): (B, 1, H, W) maps.
        high (float): Foreground threshold.
        low (float): Background threshold.
        min_pixels (int): Fallback below this foreground count. Defaults
            to 30.
        fallback_ratio (float): Fallback threshold relative to the image's
            maximum. Defaults to 0.7.

    Returns:
        Tensor: (B, 1, H, W) uint8 mask.
    """
    foreground = attention > high
    count = foreground.flatten(1).sum(dim=1).view(-1, 1, 1, 1)
    peak = attention.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    foreground = torch.where(count < min_pixels,
                             attention > fallback_ratio * peak, foreground)
    # masked fills, not boolean indexing: no device-to-host wait
    mask = torch.full_like(attention, 255, dtype=torch.uint8)
    return mask.masked_fill(foreground, 1).masked_fill(attention < low, 0)


def spg_bce(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``logits`` against a :func:`spg_mask`, mean
    over the non-ignored pixels of the whole batch."""
    valid = (mask != 255).to(logits.dtype)
    losses = F.binary_cross_entropy_with_logits(
        logits, mask.to(logits.dtype) * valid, reduction='none')
    # the mean over the selected pixels, without selecting them (which
    # would make the host wait for the device)
    return (losses * valid).sum() / valid.sum()


def spg_guidance_losses(
    logits_b1: torch.Tensor,
    logits_b2: torch.Tensor,
    logits_c: torch.Tensor,
    attention: torch.Tensor,
    fused_attention: torch.Tensor,
    thresholds: Sequence[Sequence[float]] = SPG_THRESHOLDS,
    size: Sequence[int] = (224, 224)
) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
    """The three self-guidance terms of SPG's ``get_loss``.

    Args:
        logits_b1, logits_b2, logits_c (Tensor): (B, 1, h, w) logits of the
            side branches B1, B2 and of C.
        attention, fused_attention (Tensor): (B, 1, *size), see
            :func:`spg_attention`.
        thresholds (Sequence): (high, low) for B2 (vs the attention), B1
            (vs B2's sigmoid) and C (vs the fused attention). Defaults to
            :data:`SPG_THRESHOLDS`.
        size (Sequence[int]): Upsampling size. Defaults to (224, 224).

    Returns:
        tuple[dict, dict]: Losses ``loss_b2_att``, ``loss_b1_b2i``,
        ``loss_c1_fus`` and their masks ``mask_b2_att``, ``mask_b1_b2i``,
        ``mask_c1_fus`` (uint8, see :func:`spg_mask`).
    """
    up_b1 = _upsample(logits_b1, size)
    up_b2 = _upsample(logits_b2, size)
    up_c = _upsample(logits_c, size)
    masks = dict(
        mask_b2_att=spg_mask(attention, *thresholds[0]),
        mask_b1_b2i=spg_mask(torch.sigmoid(up_b2), *thresholds[1]),
        mask_c1_fus=spg_mask(fused_attention, *thresholds[2]))
    losses = dict(
        loss_b2_att=spg_bce(up_b2, masks['mask_b2_att']),
        loss_b1_b2i=spg_bce(up_b1, masks['mask_b1_b2i']),
        loss_c1_fus=spg_bce(up_c, masks['mask_c1_fus']))
    return losses, masks


def _conv_relu(in_channels: int, out_channels: int) -> List[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU()]


@MODELS.register_module()
class SPGHead(CAMHead):
    """SPG head (`Zhang et al., ECCV 2018
    <https://arxiv.org/abs/1807.08902>`_) as in wsolevaluation.

    Reads three feature maps, ``feats[-3:]`` = (B1 input, B2 input, last):
    on ResNet-50 the outputs of layer3's first block, of layer3 and of
    layer4 (see :class:`mmwsss.FeatureTapBackbone`). The class maps are a
    1x1 convolution with bias of the last map (``SPG_A4``; logits = their
    spatial mean, CAM = the raw map of the class, as :class:`CAMHead`).
    Training adds the self-produced guidance: side branches B1, B2 (each
    conv3x3-ReLU, then a shared conv3x3-ReLU-conv1x1) and C
    (conv3x3-ReLU-conv1x1 on the last map) learn the masks of
    :func:`spg_guidance_losses` built from the ground-truth class map
    (:func:`spg_attention`).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last feature map.
        side_in_channels (Sequence[int]): Channels of the B1 and B2 inputs.
            Defaults to (1024, 1024) (ResNet-50 layer3).
        side_channels (int): Width of B1, B2 and the shared branch.
            Defaults to 1024.
        c_channels (int): Width of C. Defaults to 512.
        thresholds (Sequence): See :func:`spg_guidance_losses`. Defaults
            to :data:`SPG_THRESHOLDS`.
        upsample_size (Sequence[int]): Size of the guidance maps. Defaults
            to the reference's (224, 224).
        loss (dict): Classification loss. Defaults to
            ``dict(type='mmpretrain.CrossEntropyLoss')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 side_in_channels: Sequence[int] = (1024, 1024),
                 side_channels: int = 1024,
                 c_channels: int = 512,
                 thresholds: Sequence[Sequence[float]] = SPG_THRESHOLDS,
                 upsample_size: Sequence[int] = (224, 224),
                 loss: dict = dict(type='mmpretrain.CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_classes,
            in_channels,
            multi_label=False,
            bias=True,
            loss=loss,
            init_cfg=init_cfg)
        self.thresholds = tuple(tuple(t) for t in thresholds)
        self.upsample_size = tuple(upsample_size)
        self.branch_b1 = nn.Sequential(
            *_conv_relu(side_in_channels[0], side_channels))
        self.branch_b2 = nn.Sequential(
            *_conv_relu(side_in_channels[1], side_channels))
        self.branch_shared = nn.Sequential(
            *_conv_relu(side_channels, side_channels),
            nn.Conv2d(side_channels, 1, 1))
        self.branch_c = nn.Sequential(
            *_conv_relu(in_channels, c_channels), nn.Conv2d(c_channels, 1, 1))

    def side_logits(self, feats: Tuple[torch.Tensor]
                    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 1, h, w) logits of B1, B2 and C."""
        b1_in, b2_in, last = feats[-3:]
        return (self.branch_shared(self.branch_b1(b1_in)),
                self.branch_shared(self.branch_b2(b2_in)),
                self.branch_c(last))

    def loss(self, feats: Tuple[torch.Tensor],
             data_samples: List[DataSample]) -> dict:
        """Classification loss plus the three guidance losses.

        Args:
            feats (tuple[Tensor]): (B1 input, B2 input, last) maps.
            data_samples (list[DataSample]): With ``gt_label`` (and
                ``gt_score`` after batch augments).

        Returns:
            dict[str, Tensor]: ``loss`` (cross-entropy), ``loss_b2_att``,
            ``loss_b1_b2i`` and ``loss_c1_fus``.
        """
        device = feats[-1].device
        target = self.targets(data_samples, device)
        labels = torch.cat([s.gt_label for s in data_samples]).to(device)
        feat_map = self.forward_cams(feats)
        logits_b1, logits_b2, logits_c = self.side_logits(feats)
        attention, fused = spg_attention(feat_map, labels, logits_b1,
                                         logits_b2, self.upsample_size)
        losses, _ = spg_guidance_losses(logits_b1, logits_b2, logits_c,
                                        attention, fused, self.thresholds,
                                        self.upsample_size)
        losses['loss'] = self.loss_module(feat_map.mean(dim=(2, 3)), target)
        return losses
