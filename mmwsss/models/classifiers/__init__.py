# Copyright (c) mmwsss contributors. All rights reserved.
"""Classifiers of mmwsss."""
from .advcam_classifier import AdvCAMClassifier
from .cam_classifier import CAMClassifier
from .ficklenet_classifier import FickleNetClassifier
from .gradcam_classifier import GradCAMClassifier
from .rib_classifier import DisjointImageBatches, RIBClassifier
from .transcam_classifier import TransCAMClassifier
from .wood_classifier import WOoDClassifier
from .wsol_classifier import WSOLClassifier

__all__ = [
    'CAMClassifier', 'RIBClassifier', 'DisjointImageBatches',
    'WSOLClassifier', 'AdvCAMClassifier', 'TransCAMClassifier',
    'GradCAMClassifier', 'FickleNetClassifier', 'WOoDClassifier'
]
