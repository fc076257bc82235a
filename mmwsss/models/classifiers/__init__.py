# Copyright (c) mmwsss contributors. All rights reserved.
"""The generic CAM classifier; method-specific classifiers live in the
packages of their methods."""
from .cam_classifier import CAMClassifier

__all__ = ['CAMClassifier']
