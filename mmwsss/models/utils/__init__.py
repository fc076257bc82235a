# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.models.utils."""
from .cam import (merge_multiscale_cams, per_image_scales, scaled_size,
                  strided_size)

__all__ = [
    'merge_multiscale_cams', 'per_image_scales', 'scaled_size', 'strided_size'
]
