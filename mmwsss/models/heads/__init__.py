# Copyright (c) mmwsss contributors. All rights reserved.
"""The generic CAM head; method-specific heads live in the packages of their
methods."""
from .cam_head import CAMHead

__all__ = ['CAMHead']
