# Copyright (c) mmwsss contributors. All rights reserved.
"""TransCAM (Conformer attention-aggregated CAMs) and BNR."""
from .backbone import AttnConformer
from .classifier import TransCAMClassifier
from .functional import (AttentionAccumulator, bnr_refine, fuse_transcam_cams,
                         normalize_transcam_inference, transcam_cam,
                         transcam_losses, transcam_seed_label)

__all__ = [
    'AttnConformer', 'TransCAMClassifier', 'AttentionAccumulator',
    'bnr_refine', 'fuse_transcam_cams', 'normalize_transcam_inference',
    'transcam_cam', 'transcam_losses', 'transcam_seed_label'
]
