# Copyright (c) mmwsss contributors. All rights reserved.
"""Utilities: environment set-up, safe checkpoint loading, atomic file IO,
host transfers."""
from .checkpoint import (SAFE_CHECKPOINT_GLOBALS, PlainCheckpointHook,
                         add_plain_checkpoint_hook,
                         load_from_local_weights_only, safe_torch_load,
                         setup_safe_checkpoint_loading, to_plain_python)
from .io import atomic_write, load_npz, save_npz
from .setup_env import register_all_modules
from .tensor import to_numpy

__all__ = [
    'atomic_write', 'load_npz', 'save_npz', 'register_all_modules',
    'SAFE_CHECKPOINT_GLOBALS', 'PlainCheckpointHook',
    'add_plain_checkpoint_hook', 'load_from_local_weights_only',
    'safe_torch_load', 'setup_safe_checkpoint_loading', 'to_plain_python',
    'to_numpy'
]
