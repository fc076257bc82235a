# Copyright (c) mmwsss contributors. All rights reserved.
"""W-OoD: weakly supervised segmentation with out-of-distribution data.

Its hook (:class:`mmwsss.WOoDHook`) lives in ``mmwsss.engine.hooks`` and its
dataset in ``mmwsss.datasets``, where the registries look for them.
"""
from .classifier import WOoDClassifier
from .functional import (kmeans, ood_distance_threshold, wood_class_centers,
                         wood_distance_loss, wood_losses, wood_ood_loss,
                         wood_perturb_ood)

__all__ = [
    'WOoDClassifier', 'kmeans', 'ood_distance_threshold',
    'wood_class_centers', 'wood_distance_loss', 'wood_losses',
    'wood_ood_loss', 'wood_perturb_ood'
]
