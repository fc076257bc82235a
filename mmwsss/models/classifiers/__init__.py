# Copyright (c) mmwsss contributors. All rights reserved.
"""Classifiers of mmwsss."""
from .cam_classifier import CAMClassifier

__all__ = ['CAMClassifier']
