# Copyright (c) mmwsss contributors. All rights reserved.
"""Weakly supervised object localization with CAM score maps."""
from .backbones import WSOLInceptionV3, WSOLVGG
from .classifier import WSOLClassifier

__all__ = ['WSOLClassifier', 'WSOLInceptionV3', 'WSOLVGG']
