# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM refiners: AdvCAM adversarial climbing and RIB fine-tuning pieces."""
from .advcam import (adversarial_climb_step, adversarial_climbing,
                     advcam_analytic_regions, advcam_gradcam_regions,
                     advcam_multiscale_cams, advcam_objective,
                     advcam_scale_schedule)
from .rib import (gndrp_logits, gndrp_pool, rib_explosion_stop, rib_loss,
                  rib_target_stop)
from .rib import disjoint_image_indices, rib_poly_lr

__all__ = [
    'advcam_gradcam_regions', 'advcam_analytic_regions', 'advcam_objective',
    'adversarial_climb_step', 'adversarial_climbing', 'advcam_scale_schedule',
    'advcam_multiscale_cams', 'gndrp_pool', 'gndrp_logits', 'rib_loss',
    'rib_target_stop', 'rib_explosion_stop', 'disjoint_image_indices',
    'rib_poly_lr'
]
