# Copyright (c) mmwsss contributors. All rights reserved.
"""Grad-CAM family (the ``grad-cam`` package) for mmpretrain classifiers."""
from .adapter import (GRADCAM_METHODS, ClassifierLogits, TokenGridReshape,
                      build_gradcam, default_target_layer, gradcam_method,
                      raw_gradcam_maps, release_gradcam, resolve_module)
from .classifier import GradCAMClassifier

__all__ = [
    'GradCAMClassifier', 'GRADCAM_METHODS', 'ClassifierLogits',
    'TokenGridReshape', 'build_gradcam', 'default_target_layer',
    'gradcam_method', 'raw_gradcam_maps', 'release_gradcam', 'resolve_module'
]
