# Copyright (c) mmwsss contributors. All rights reserved.
"""Heads of mmwsss."""
from .cam_head import CAMHead
from .ficklenet_head import FickleNetCAMHead
from .gndrp_head import GNDRPCAMHead

__all__ = ['CAMHead', 'GNDRPCAMHead', 'FickleNetCAMHead']
