# Copyright (c) mmwsss contributors. All rights reserved.
"""Loops of mmwsss."""
from .resumable_test_loop import AllBatchesFailedError, ResumableTestLoop

__all__ = ['AllBatchesFailedError', 'ResumableTestLoop']
