# Copyright (c) mmwsss contributors. All rights reserved.
"""Data preprocessors of mmwsss."""
from .cam_preprocessor import CAMDataPreprocessor

__all__ = ['CAMDataPreprocessor']
