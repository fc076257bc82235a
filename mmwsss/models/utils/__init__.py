# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.models.utils."""
from .cam import merge_multiscale_cams, scaled_size, strided_size

__all__ = ['merge_multiscale_cams', 'scaled_size', 'strided_size']
