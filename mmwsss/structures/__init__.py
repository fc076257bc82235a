# Copyright (c) mmwsss contributors. All rights reserved.
"""Data conventions shared by models, datasets and evaluation."""
from .wsol_maps import normalize_scoremap, pxap_gt_mask

__all__ = ['normalize_scoremap', 'pxap_gt_mask']
