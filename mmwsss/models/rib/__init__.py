# Copyright (c) mmwsss contributors. All rights reserved.
"""RIB: per-image fine-tuning that reduces the information bottleneck, and
its GNDRP-trained CAM head."""
from .advcam_rib import RIBAdvCAMClassifier
from .classifier import DisjointImageBatches, RIBClassifier
from .functional import (disjoint_image_indices, gndrp_logits, gndrp_pool,
                         rib_explosion_stop, rib_loss, rib_poly_lr,
                         rib_target_stop)
from .head import GNDRPCAMHead

__all__ = [
    'RIBClassifier', 'RIBAdvCAMClassifier', 'DisjointImageBatches',
    'GNDRPCAMHead', 'gndrp_pool', 'gndrp_logits', 'rib_loss', 'rib_target_stop', 'rib_explosion_stop',
    'disjoint_image_indices', 'rib_poly_lr'
]
