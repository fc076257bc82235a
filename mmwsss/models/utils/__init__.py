# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.models.utils."""
from .cam import (merge_multiscale_cams, per_image_scales, scaled_size,
                  strided_size)
from .params import frozen_parameters

__all__ = [
    'merge_multiscale_cams', 'per_image_scales', 'scaled_size', 'strided_size',
    'frozen_parameters'
]
