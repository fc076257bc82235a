# Copyright (c) mmwsss contributors. All rights reserved.
"""Weakly supervised object localization: the CAM-score-map classifier,
the wsolevaluation backbones (VGG16-GAP, InceptionV3) and baselines (HaS,
ACoL, SPG, ADL, CutMix)."""
from .acol import (ACoLHead, acol_erase_mask, acol_fused_maps,
                   minmax_normalize_maps)
from .adl import ADL, adl, adl_maps, adl_use_drop_mask
from .backbone_hooks import ADLBackbone, FeatureTapBackbone
from .backbones import WSOLInceptionV3, WSOLVGG
from .classifier import WSOLClassifier
from .cutmix import WSOLCutMix, cutmix, cutmix_box
from .has import HideAndSeek, hide_and_seek, hide_and_seek_grid
from .spg import (SPG_THRESHOLDS, SPGHead, spg_attention, spg_bce,
                  spg_guidance_losses, spg_mask)

__all__ = [
    'WSOLClassifier', 'WSOLInceptionV3', 'WSOLVGG', 'HideAndSeek',
    'WSOLCutMix', 'ADL', 'ADLBackbone', 'FeatureTapBackbone', 'ACoLHead', 'SPGHead', 'hide_and_seek',
    'hide_and_seek_grid', 'cutmix_box', 'cutmix', 'adl_maps',
    'adl_use_drop_mask', 'adl', 'minmax_normalize_maps', 'acol_erase_mask',
    'acol_fused_maps', 'spg_attention', 'spg_mask', 'spg_bce',
    'spg_guidance_losses', 'SPG_THRESHOLDS'
]
