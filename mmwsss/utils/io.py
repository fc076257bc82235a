# Copyright (c) mmwsss contributors. All rights reserved.
"""Former home of the atomic writing helpers, now in :mod:`mmwsss.fileio`."""
from mmwsss.fileio.atomic import atomic_write, load_npz, save_npz

__all__ = ['atomic_write', 'load_npz', 'save_npz']
