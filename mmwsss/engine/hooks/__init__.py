# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.engine.hooks."""
from .channels_last_hook import ChannelsLastHook
from .logger_hook import DistSafeLoggerHook
from .mean_shift_hook import DisplacementMeanShiftHook
from .plain_checkpoint_hook import (PlainCheckpointHook,
                                    add_plain_checkpoint_hook)
from .reproducible_resume_hook import (EpochWorkerSeeder,
                                       ReproducibleResumeHook,
                                       WorkerStreamIterator,
                                       WorkerStreamLoader)
from .visualization_hook import WSSSVisualizationHook
from .wood_hook import WOoDCentersHook

__all__ = [
    'ChannelsLastHook', 'DisplacementMeanShiftHook', 'DistSafeLoggerHook',
    'EpochWorkerSeeder', 'PlainCheckpointHook', 'ReproducibleResumeHook',
    'WOoDCentersHook', 'WorkerStreamIterator', 'WorkerStreamLoader',
    'WSSSVisualizationHook',
    'add_plain_checkpoint_hook'
]
