# Copyright (c) mmwsss contributors. All rights reserved.
"""A CAM head trained with global non-discriminative region pooling."""
from typing import Tuple

import torch
import torch.nn.functional as F

from mmwsss.registry import MODELS
from ..heads.cam_head import CAMHead
from .functional import gndrp_pool


@MODELS.register_module()
class GNDRPCAMHead(CAMHead):
    """:class:`CAMHead` whose training logits use GNDRP instead of GAP.

    Global non-discriminative region pooling (RIB, "Reducing Information
    Bottleneck for Weakly Supervised Semantic Segmentation", NeurIPS 2021):
    for every ground-truth class of an image, the pixels whose raw class
    map, divided by its spatial max, is at least ``tau`` are left out of the
    average (the denominator stays the number of pixels); the other classes
    are average-pooled as usual. The loss therefore rewards the less
    discriminative parts of the objects.
    See :func:`mmwsss.functional.gndrp_pool` (any number of classes,
    vectorised).

    Only the training loss changes: ``forward`` (prediction scores) and
    ``forward_cams`` are those of :class:`CAMHead`, since GNDRP needs the
    labels. The classifier is a 1x1 convolution, so pooling the raw maps is
    the same as classifying pooled features.

    Args:
        tau (float): GNDRP threshold. Defaults to 0.4 (RIB's VOC value).
        **kwargs: Arguments of :class:`CAMHead` (``num_classes``,
            ``in_channels``, ``multi_label``, ``bias``, ``loss``, ...).
    """

    def __init__(self, tau: float = 0.4, **kwargs):
        super().__init__(**kwargs)
        self.tau = tau

    def pooled_logits(self, feats: Tuple[torch.Tensor],
                      labels: torch.Tensor) -> torch.Tensor:
        """GNDRP logits (B, num_classes) for (B, num_classes) multi-hot
        ``labels`` (entries > 0 are ground-truth classes)."""
        return gndrp_pool(self.forward_cams(feats), labels, self.tau)

    def training_logits(self, feats: Tuple[torch.Tensor],
                        target: torch.Tensor) -> torch.Tensor:
        """GNDRP-pooled logits of the ground-truth classes of ``target``."""
        labels = target
        if not self.multi_label:
            labels = F.one_hot(target.long().flatten(), self.num_classes)
        return self.pooled_logits(feats, labels)
