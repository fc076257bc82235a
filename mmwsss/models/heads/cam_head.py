# Copyright (c) mmwsss contributors. All rights reserved.
"""A classification head whose weights turn feature maps into CAMs."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS


@MODELS.register_module()
class CAMHead(BaseModule):
    """Global average pooling + a 1x1 convolution classifier.

    The class activation map (CAM) of class ``c`` is the classifier applied at
    every position of the last feature map, and the logit of ``c`` is its
    spatial mean (pooling and the 1x1 convolution commute), as in
    `Learning Deep Features for Discriminative Localization
    <https://arxiv.org/abs/1512.04150>`_ and the IRN classifier (bias-free,
    multi-label soft-margin loss). Works on any backbone or neck that returns
    a tuple of (B, C, H, W) maps; the last one is used.

    Args:
        num_classes (int): Number of (foreground) classes.
        in_channels (int): Channels of the last feature map.
        multi_label (bool): Sigmoid scores and multi-label targets (WSSS) if
            True; softmax and single-label targets (WSOL) otherwise.
            Defaults to True.
        bias (bool): Whether the classifier has a bias. Defaults to False.
        loss (dict): Loss config. Defaults to
            ``dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True)``,
            i.e. the multi-label soft-margin loss.
        init_cfg (dict, optional): Initialization config. Defaults to None
            (PyTorch's default initialisation, as the reference).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 multi_label: bool = True,
                 bias: bool = False,
                 loss: dict = dict(
                     type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.multi_label = multi_label
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=bias)
        self.loss_module = MODELS.build(loss)

    def forward_cams(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Raw (signed, before ReLU) class maps (B, num_classes, H, W)."""
        return self.classifier(feats[-1])

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class logits (B, num_classes)."""
        pooled = feats[-1].mean(dim=(2, 3), keepdim=True)
        return self.classifier(pooled).flatten(1)

    def class_maps(self, feats: Tuple[torch.Tensor],
                   labels: torch.Tensor) -> torch.Tensor:
        """Raw map (B, H, W) of each image's class ``labels[b]``.

        Computed for that class only, unless a subclass makes its maps
        otherwise (overrides :meth:`forward_cams`): then the map is picked
        from all of them.
        """
        if type(self).forward_cams is not CAMHead.forward_cams:
            maps = self.forward_cams(feats)
            return maps[torch.arange(maps.size(0), device=maps.device),
                        labels]
        weight = self.classifier.weight.flatten(1)[labels]
        maps = torch.einsum('bc,bchw->bhw', weight, feats[-1])
        if self.classifier.bias is not None:
            maps = maps + self.classifier.bias[labels].view(-1, 1, 1)
        return maps

    def targets(self, data_samples: List[DataSample],
                device: torch.device) -> torch.Tensor:
        """The loss targets of ``data_samples``: their (N, C) ``gt_score``
        when they have one (multi-hot scores, or the one-hot / mixed soft
        targets of batch augments such as CutMix); otherwise (N, C)
        multi-hot labels (multi-label) or (N,) class indices."""
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score for s in data_samples]).to(device)
        if self.multi_label:
            target = torch.zeros(
                len(data_samples), self.num_classes, device=device)
            for row, sample in zip(target, data_samples):
                row[sample.gt_label.to(device)] = 1
            return target
        return torch.cat([s.gt_label for s in data_samples]).to(device)

    def loss(self, feats: Tuple[torch.Tensor],
             data_samples: List[DataSample]) -> dict:
        """Compute the classification loss.

        Args:
            feats (tuple[Tensor]): Feature maps; the last one is used.
            data_samples (list[DataSample]): With ``gt_label`` or
                ``gt_score``.

        Returns:
            dict[str, Tensor]: ``loss``.
        """
        target = self.targets(data_samples, feats[-1].device)
        logits = self.training_logits(feats, target)
        return dict(loss=self.loss_module(logits, target))

    def training_logits(self, feats: Tuple[torch.Tensor],
                        target: torch.Tensor) -> torch.Tensor:
        """The (B, num_classes) logits the training loss compares with
        ``target`` (see :meth:`targets`): those of :meth:`forward`."""
        return self(feats)

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Sigmoid (multi-label) or softmax (single-label) scores."""
        if self.multi_label:
            return torch.sigmoid(logits)
        return F.softmax(logits, dim=1)

    def predict(
        self,
        feats: Tuple[torch.Tensor],
        data_samples: Optional[Sequence[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Predict class scores.

        Args:
            feats (tuple[Tensor]): Feature maps; the last one is used.
            data_samples (list[DataSample], optional): Samples to fill.

        Returns:
            list[DataSample]: With ``pred_score`` and ``pred_label``
            (classes with score > 0.5 when multi-label, top-1 otherwise).
        """
        scores = self.scores(self(feats))
        if data_samples is None:
            data_samples = [None] * scores.size(0)
        return [
            self.fill_prediction(s if s is not None else DataSample(), score)
            for s, score in zip(data_samples, scores)
        ]

    def fill_prediction(self, sample: DataSample,
                        score: torch.Tensor) -> DataSample:
        """Set ``pred_score`` and ``pred_label`` of ``sample`` from a score
        vector."""
        if self.multi_label:
            label = torch.nonzero(score > 0.5).flatten()
        else:
            label = score.argmax(keepdim=True)
        return sample.set_pred_score(score).set_pred_label(label)
