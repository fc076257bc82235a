# Copyright (c) mmwsss contributors. All rights reserved.
"""Classifiers of mmwsss."""
from .cam_classifier import CAMClassifier
from .wsol_classifier import WSOLClassifier

__all__ = ['CAMClassifier', 'WSOLClassifier']
