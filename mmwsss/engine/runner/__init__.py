# Copyright (c) mmwsss contributors. All rights reserved.
"""Loops of mmwsss."""
from .resumable_test_loop import (AllBatchesFailedError, ItemsFailedError,
                                  LoadingTrial, ResumableTestLoop,
                                  split_batch)

__all__ = [
    'AllBatchesFailedError', 'ItemsFailedError', 'LoadingTrial',
    'ResumableTestLoop', 'split_batch'
]
