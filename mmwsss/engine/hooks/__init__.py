# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.engine.hooks."""
from .mean_shift_hook import DisplacementMeanShiftHook

__all__ = ['DisplacementMeanShiftHook']
