# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM: bounding box attribution maps and box-supervised pseudo-labels."""
from .attributor import BBAM
from .losses import seed_growing_mask_loss, seed_growing_targets
from .mask import (bbam_loss, bbam_stride, init_bbam_mask, perturb_with_mask,
                   tv_norm)
from .mask_head import SeedGrowingMaskHead
from .proposals import (jitter_boxes, sample_jitter_draws,
                        select_positive_proposals)
from .pseudo_labels import (bbam_dense_crf, bbam_to_instance_mask,
                            bbam_to_soft_mask, merge_semantic_labels)

__all__ = [
    'BBAM', 'SeedGrowingMaskHead', 'bbam_dense_crf', 'bbam_loss',
    'bbam_stride', 'bbam_to_instance_mask', 'bbam_to_soft_mask',
    'init_bbam_mask', 'jitter_boxes', 'merge_semantic_labels',
    'perturb_with_mask', 'sample_jitter_draws', 'seed_growing_mask_loss',
    'seed_growing_targets', 'select_positive_proposals', 'tv_norm'
]
