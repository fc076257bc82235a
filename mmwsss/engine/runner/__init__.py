# Copyright (c) mmwsss contributors. All rights reserved.
"""Loops of mmwsss."""
from .resumable_test_loop import ResumableTestLoop

__all__ = ['ResumableTestLoop']
