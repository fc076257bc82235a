# Copyright (c) mmwsss contributors. All rights reserved.
"""AdvCAM: CAMs of adversarially climbed (anti-adversarial) images."""
from .classifier import AdvCAMClassifier
from .functional import (adversarial_climb_step, adversarial_climbing,
                         advcam_analytic_regions, advcam_gradcam_regions,
                         advcam_multiscale_cams, advcam_objective,
                         advcam_scale_schedule)

__all__ = [
    'AdvCAMClassifier', 'advcam_gradcam_regions', 'advcam_analytic_regions',
    'advcam_objective', 'adversarial_climb_step', 'adversarial_climbing',
    'advcam_scale_schedule', 'advcam_multiscale_cams'
]
