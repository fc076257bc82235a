# Copyright (c) mmwsss contributors. All rights reserved.
"""Data transforms of mmwsss."""
from .formatting import PackCAMInputs
from .irn_processing import DownsampleLabel, RandomRescale, TopLeftCropPad
from .loading import LoadImageRGB, LoadLabelMap
from .processing import (MultiScaleResize, RandomCropPad,
                         RandomLongSideResize, pil_resize)
from .wsol_transforms import LoadWSOLMask, PackWSOLInputs, WSOLResize

__all__ = [
    'PackCAMInputs', 'LoadImageRGB', 'LoadLabelMap', 'MultiScaleResize',
    'RandomCropPad', 'RandomLongSideResize', 'pil_resize', 'DownsampleLabel',
    'RandomRescale', 'TopLeftCropPad',
    'LoadWSOLMask', 'PackWSOLInputs', 'WSOLResize'
]
