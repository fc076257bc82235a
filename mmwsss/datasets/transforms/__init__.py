# Copyright (c) mmwsss contributors. All rights reserved.
"""Data transforms of mmwsss."""
from .box_pseudo_transforms import (LoadBoxPseudoAnnotations,
                                    PackBoxPseudoInputs)
from .box_noise import JitterBoxes
from .formatting import PackCAMInputs
from .irn_processing import DownsampleLabel, RandomRescale, TopLeftCropPad
from .loading import (LoadCAMFile, LoadImageRGB, LoadLabelMap,
                      LoadPseudoLabel)
from .original_image import KeepOriginalImage
from .processing import (ColorJitter, MultiScaleResize, RandomCropPad,
                         RandomLongSideResize, pil_resize, shift_hue)
from .saliency import (DSRGSeedsFromCAM, LoadSaliencyMap, SaliencyIgnore,
                       saliency_ignore)
from .wsol_transforms import LoadWSOLMask, PackWSOLInputs, WSOLResize

__all__ = [
    'PackCAMInputs', 'LoadCAMFile', 'LoadImageRGB', 'LoadLabelMap',
    'LoadPseudoLabel', 'MultiScaleResize', 'RandomCropPad',
    'RandomLongSideResize', 'pil_resize', 'DownsampleLabel', 'RandomRescale',
    'TopLeftCropPad', 'LoadBoxPseudoAnnotations', 'PackBoxPseudoInputs',
    'LoadWSOLMask', 'PackWSOLInputs', 'WSOLResize',
    'KeepOriginalImage', 'ColorJitter', 'shift_hue', 'DSRGSeedsFromCAM',
    'LoadSaliencyMap', 'SaliencyIgnore', 'saliency_ignore', 'JitterBoxes'
]
