# Copyright (c) mmwsss contributors. All rights reserved.
"""Adversarial Complementary Learning (ACoL)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..heads.cam_head import CAMHead


def minmax_normalize_maps(maps: torch.Tensor) -> torch.Tensor:
    """Min-max normalise every (image, channel) map over its positions.

    wsolevaluation's ``normalize_tensor``: no epsilon, so a constant map
    gives NaN, as in the reference.

    Args:
        maps (Tensor): (B, C, H, W) maps.

    Returns:
        Tensor: (B, C, H, W) maps in [0, 1].
    """
    flat = maps.flatten(2)
    low = flat.amin(dim=2, keepdim=True)
    high = flat.amax(dim=2, keepdim=True)
    return ((flat - low) / (high - low)).view_as(maps)


def acol_erase_mask(feat_map_a: torch.Tensor, labels: torch.Tensor,
                    drop_threshold: float
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """The erasing mask of ACoL's second branch.

    Args:
        feat_map_a (Tensor): (B, K, H, W) class maps of the first branch.
        labels (Tensor): (B, ) classes whose maps are erased.
        drop_threshold (float): Erase where the normalised map is
            ``>= drop_threshold``.

    Returns:
        tuple[Tensor, Tensor]: (B, 1, H, W) normalised ``attention`` of the
        labels' maps and the float ``erase_mask`` (0 where erased, else 1).
    """
    rows = torch.arange(feat_map_a.size(0), device=feat_map_a.device)
    attention = minmax_normalize_maps(feat_map_a[rows, labels][:, None])
    erase_mask = (attention < drop_threshold).to(feat_map_a.dtype)
    return attention, erase_mask


def acol_fused_maps(feat_map_a: torch.Tensor,
                    feat_map_b: torch.Tensor) -> torch.Tensor:
    """ACoL's localisation maps: the element-wise max of the two branches'
    min-max-normalised class maps (B, K, H, W)."""
    return torch.max(
        minmax_normalize_maps(feat_map_a), minmax_normalize_maps(feat_map_b))


def _branch(in_channels: int, hidden_channels: int,
            num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(hidden_channels, hidden_channels, 3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(hidden_channels, num_classes, 1))


@MODELS.register_module()
class ACoLHead(CAMHead):
    """ACoL head (`Zhang et al., CVPR 2018
    <https://arxiv.org/abs/1804.06962>`_) as in wsolevaluation.

    Two classifiers (conv3x3-ReLU-conv3x3-ReLU-conv1x1, with biases) read
    the last feature map. Branch A gives the logits (spatial mean of its
    class maps); branch B sees the features with the region where A's map
    of the label is ``>= drop_threshold`` (after min-max normalisation) set
    to 0. Training uses the ground-truth labels and sums the two
    cross-entropies; without labels (prediction) the top-1 class of A is
    erased. Localisation maps are :func:`acol_fused_maps`. Backbone-agnostic
    (wsolevaluation adds a 3x3 average pooling before the head on VGG only).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last feature map.
        hidden_channels (int): Width of both branches. Defaults to 1024.
        drop_threshold (float): Erasing threshold (``acol_threshold``).
            Defaults to 0.7.
        loss (dict): Classification loss of each branch. Defaults to
            ``dict(type='mmpretrain.CrossEntropyLoss')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 hidden_channels: int = 1024,
                 drop_threshold: float = 0.7,
                 loss: dict = dict(type='mmpretrain.CrossEntropyLoss'),
                 init_cfg: Optional[dict] = None):
        super().__init__(
            num_classes,
            in_channels,
            multi_label=False,
            bias=True,
            loss=loss,
            init_cfg=init_cfg)
        self.hidden_channels = hidden_channels
        self.drop_threshold = drop_threshold
        # Branch A takes the place of CAMHead's 1x1 classifier.
        self.classifier = _branch(in_channels, hidden_channels, num_classes)
        self.classifier_b = _branch(in_channels, hidden_channels,
                                    num_classes)

    def branches(self,
                 feats: Tuple[torch.Tensor],
                 labels: Optional[torch.Tensor] = None
                 ) -> Dict[str, torch.Tensor]:
        """Both branches on the last feature map.

        Args:
            feats (tuple[Tensor]): Feature maps; the last one is used.
            labels (Tensor, optional): (B, ) classes to erase; None erases
                the top-1 class of branch A.

        Returns:
            dict[str, Tensor]: ``feat_map_a``, ``feat_map_b`` (B, K, H, W),
            ``logits``, ``logits_b`` (B, K), ``labels``, ``attention`` and
            ``erase_mask`` (B, 1, H, W).
        """
        feature = feats[-1]
        feat_map_a = self.classifier(feature)
        logits = feat_map_a.mean(dim=(2, 3))
        if labels is None:
            labels = logits.argmax(dim=1)
        attention, erase_mask = acol_erase_mask(feat_map_a, labels,
                                                self.drop_threshold)
        feat_map_b = self.classifier_b(feature * erase_mask)
        return dict(
            feat_map_a=feat_map_a,
            feat_map_b=feat_map_b,
            logits=logits,
            logits_b=feat_map_b.mean(dim=(2, 3)),
            labels=labels,
            attention=attention,
            erase_mask=erase_mask)

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class logits (B, num_classes) of branch A."""
        return self.classifier(feats[-1]).mean(dim=(2, 3))

    def forward_cams(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Fused maps (B, K, H, W) with the top-1 class of A erased."""
        out = self.branches(feats)
        return acol_fused_maps(out['feat_map_a'], out['feat_map_b'])

    def class_maps(self, feats: Tuple[torch.Tensor],
                   labels: torch.Tensor) -> torch.Tensor:
        """Fused map (B, H, W) of each image's label, that label erased (the
        reference's ``return_cam``)."""
        out = self.branches(feats, labels)
        fused = acol_fused_maps(out['feat_map_a'], out['feat_map_b'])
        return fused[torch.arange(fused.size(0), device=fused.device),
                     labels]

    def loss(self, feats: Tuple[torch.Tensor],
             data_samples: List[DataSample]) -> dict:
        """Cross-entropy of both branches, the ground truth erased.

        Args:
            feats (tuple[Tensor]): Feature maps; the last one is used.
            data_samples (list[DataSample]): With ``gt_label`` (and
                ``gt_score`` after batch augments).

        Returns:
            dict[str, Tensor]: ``loss`` (branch A) and ``loss_erased``
            (branch B).
        """
        device = feats[-1].device
        target = self.targets(data_samples, device)
        labels = torch.cat([s.gt_label for s in data_samples]).to(device)
        out = self.branches(feats, labels)
        return dict(
            loss=self.loss_module(out['logits'], target),
            loss_erased=self.loss_module(out['logits_b'], target))
