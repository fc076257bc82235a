# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.engine.hooks."""
from .logger_hook import DistSafeLoggerHook
from .mean_shift_hook import DisplacementMeanShiftHook

__all__ = ['DisplacementMeanShiftHook', 'DistSafeLoggerHook']
