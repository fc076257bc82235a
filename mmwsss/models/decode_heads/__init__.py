# Copyright (c) mmwsss contributors. All rights reserved.
"""Decode heads for mmseg segmentors."""
from .aspp_v2_head import ASPPv2Head

__all__ = ['ASPPv2Head']
