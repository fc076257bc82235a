# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.engine.hooks."""
from .logger_hook import DistSafeLoggerHook
from .mean_shift_hook import DisplacementMeanShiftHook
from .wood_hook import WOoDCentersHook

__all__ = [
    'DisplacementMeanShiftHook', 'DistSafeLoggerHook', 'WOoDCentersHook'
]
