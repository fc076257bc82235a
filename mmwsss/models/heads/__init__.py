# Copyright (c) mmwsss contributors. All rights reserved.
"""Heads of mmwsss."""
from .cam_head import CAMHead

__all__ = ['CAMHead']
