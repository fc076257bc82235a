# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM: bounding box attribution maps and box-supervised pseudo-labels."""
from .attributor import BBAM
from .losses import seed_growing_mask_loss, seed_growing_targets
from .mask import (bbam_loss, bbam_stride, init_bbam_mask, perturb_with_mask,
                   tv_norm)
from .mask_head import SeedGrowingMaskHead
from .mcg import MCG_COUNTS, mcg_refine_mask
from .proposals import (jitter_boxes, sample_jitter_draws,
                        select_positive_proposals)
from .pseudo_labels import (bbam_dense_crf, bbam_pseudo_masks,
                            bbam_to_instance_mask, bbam_to_soft_mask,
                            filled_box_masks, merge_semantic_labels,
                            pixel_box)

__all__ = [
    'BBAM', 'SeedGrowingMaskHead', 'bbam_dense_crf', 'bbam_loss',
    'bbam_pseudo_masks', 'bbam_stride', 'bbam_to_instance_mask',
    'bbam_to_soft_mask', 'filled_box_masks', 'init_bbam_mask',
    'jitter_boxes', 'MCG_COUNTS', 'mcg_refine_mask', 'merge_semantic_labels',
    'perturb_with_mask',
    'pixel_box', 'sample_jitter_draws', 'seed_growing_mask_loss',
    'seed_growing_targets', 'select_positive_proposals', 'tv_norm'
]
