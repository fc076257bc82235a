# Copyright (c) mmwsss contributors. All rights reserved.
"""CCT: cross-consistency training for semi-supervised segmentation."""
from .functional import (cct_consistency_loss, cct_rampup_weight,
                         context_masking, feature_dropout, feature_noise,
                         foreground_mask, guided_cutout_mask, object_masking,
                         vat_perturbation)
from .head import CCT_DECODERS, PERTURBATIONS, CCTHead, UpsamplingDecoder

__all__ = [
    'CCTHead', 'UpsamplingDecoder', 'CCT_DECODERS', 'PERTURBATIONS',
    'cct_consistency_loss', 'cct_rampup_weight', 'context_masking',
    'feature_dropout', 'feature_noise', 'foreground_mask',
    'guided_cutout_mask', 'object_masking', 'vat_perturbation'
]
