# Copyright (c) mmwsss contributors. All rights reserved.
"""Wrappers of mmseg segmentors."""
from .crf_seg_tta import CRFSegTTAModel

__all__ = ['CRFSegTTAModel']
