# Copyright (c) mmwsss contributors. All rights reserved.
"""Weakly supervised object localization with CAM score maps."""
from .classifier import WSOLClassifier

__all__ = ['WSOLClassifier']
