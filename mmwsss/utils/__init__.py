# Copyright (c) mmwsss contributors. All rights reserved.
"""Utilities: environment set-up, safe checkpoint loading, atomic file IO,
host transfers."""
from .checkpoint import (SAFE_CHECKPOINT_GLOBALS, WEIGHTS_ONLY_LOADERS,
                         load_from_local_weights_only, safe_torch_load,
                         setup_safe_checkpoint_loading, to_plain_python)
from .config import FormatOnceConfig, type_name
from .io import atomic_write, load_npz, save_npz
from .setup_env import register_all_modules
from .tensor import to_numpy

# Former home of the checkpoint-saving hook, now in mmwsss.engine.hooks (where
# the HOOKS registry looks). Re-exported lazily: mmwsss.engine imports
# mmwsss.models, which imports mmwsss.utils, so an eager import would loop.
_MOVED_TO_ENGINE_HOOKS = ('PlainCheckpointHook', 'add_plain_checkpoint_hook')


def __getattr__(name: str):
    if name in _MOVED_TO_ENGINE_HOOKS:
        from mmwsss.engine.hooks import plain_checkpoint_hook
        return getattr(plain_checkpoint_hook, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def __dir__():
    return sorted([*globals(), *_MOVED_TO_ENGINE_HOOKS])


__all__ = [
    'atomic_write', 'load_npz', 'save_npz', 'register_all_modules',
    'SAFE_CHECKPOINT_GLOBALS', 'WEIGHTS_ONLY_LOADERS', 'PlainCheckpointHook',
    'add_plain_checkpoint_hook', 'load_from_local_weights_only',
    'safe_torch_load', 'setup_safe_checkpoint_loading', 'to_plain_python',
    'to_numpy', 'type_name', 'FormatOnceConfig'
]
