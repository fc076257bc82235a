# Copyright (c) mmwsss contributors. All rights reserved.
"""Secure checkpoints under ``torch.load(weights_only=True)`` (torch >= 2.6).

Since torch 2.6 ``torch.load`` only unpickles tensors, plain containers and
allow-listed globals. mmengine 0.10.7 relies on full pickle in two places:

* ``Runner.save_checkpoint`` stores the message hub, whose log scalars are
  :class:`~mmengine.logging.HistoryBuffer` objects holding numpy arrays and
  (through ``__getstate__``) methods pickled via ``builtins.getattr``, so
  ``--resume`` fails.
* ``meta`` and the message hub's runtime info may hold numpy scalars/arrays
  (seeds, best scores, dataset meta) that pickle through numpy internals.

Both are fixed without ever falling back to full pickle:
:class:`mmwsss.engine.hooks.PlainCheckpointHook` stores all of these as plain
Python values before saving (with :func:`to_plain_python` from here),
:func:`setup_safe_checkpoint_loading` allow-lists the ``HistoryBuffer`` class
(and nothing else) and replaces mmengine's local-path loader by one that
refuses any other global with a clear error.
"""
import os
import os.path as osp
import pickle
import pickletools
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

#: The only global mmwsss adds to torch's weights-only allow-list. Checkpoints
#: saved with ``PlainCheckpointHook`` rebuild their message-hub log
#: scalars as ``HistoryBuffer(log_history, count_history, max_length)`` from
#: plain lists, so nothing else (no numpy internals, no ``getattr``) is needed.
SAFE_CHECKPOINT_GLOBALS = [HistoryBuffer]


def to_plain_python(obj: Any) -> Any:
    """Recursively convert numpy values into plain Python objects.

    Numpy scalars become ``int``/``float``/``bool``, arrays become (nested)
    lists, mappings become ``dict`` (``OrderedDict`` is kept, torch loads it
    safely), lists and tuples keep their kind. Anything else is returned
    unchanged.

    Args:
        obj (Any): The object to convert.

    Returns:
        Any: An object that ``torch.load(weights_only=True)`` can read back,
        as far as numpy values are concerned.
    """
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    if isinstance(obj, Mapping):
        plain = ((k, to_plain_python(v)) for k, v in obj.items())
        return OrderedDict(plain) if type(obj) is OrderedDict else dict(plain)
    if isinstance(obj, list):
        return [to_plain_python(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_plain_python(v) for v in obj)
    return obj


def safe_torch_load(filename: Union[str, os.PathLike],
                    map_location: Optional[Union[str, Callable,
                                                 torch.device]] = None):
    """Load a checkpoint file with ``torch.load(weights_only=True)``.

    Args:
        filename (str | PathLike): Path of the checkpoint file.
        map_location (str | Callable | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: If the file does not exist.
        RuntimeError: If the file needs globals outside torch's and mmwsss's
            allow-lists, e.g. a pickle crafted to run code when loaded.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise RuntimeError(
            f'Refused to load checkpoint "{filename}": it is not a plain '
            'weights file, and unpickling objects outside the allow-list of '
            'torch.load(weights_only=True) can execute arbitrary code. '
            f'{_describe_globals(filename)} Accepted are tensors, '
            'containers, numbers, strings and the types allow-listed by torch '
            'and mmwsss. If the file comes from a trusted source, re-save its '
            'state_dict with torch.save. Reason given by torch: '
            f'{_torch_reason(error)}') from None


def _torch_reason(error: Exception) -> str:
    """Extract the specific part of torch's weights-only error message.

    torch wraps the reason between a generic preamble (which suggests
    ``weights_only=False``) and a documentation link; keep only the reason.

    Args:
        error (Exception): The error raised by :func:`torch.load`.

    Returns:
        str: The reason, or the whole message if its layout is unknown.
    """
    message = str(error)
    marker = 'WeightsUnpickler error:'
    if marker in message:
        message = message.split(marker, 1)[1]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) >= 3 and lines[0].startswith('Weights only load failed'):
        lines = lines[1:]
    if len(lines) >= 2 and lines[-1].startswith('Check the documentation'):
        lines = lines[:-1]
    return ' '.join(lines)


def _describe_globals(filename: str) -> str:
    """Name the globals that made a checkpoint fail, for error messages.

    Args:
        filename (str): Path of the checkpoint file.

    Returns:
        str: A sentence naming the globals, or an empty string if they
        cannot be determined.
    """
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        label = 'Globals it needs that are not allow-listed'
    except ValueError:
        # Not a torch.save zip file: list every global of the raw pickle.
        label = 'Globals it references'
        try:
            with open(filename, 'rb') as file:
                names = _pickle_globals(file)
        except Exception:  # a corrupt pickle: torch's reason says enough
            return ''
    if not names:
        return ''
    return f'{label}: {", ".join(sorted(set(names)))}.'


def _pickle_globals(file) -> list:
    """Statically list the globals of the first pickle in a binary file.

    Args:
        file (BinaryIO): The opened file.

    Returns:
        list[str]: Dotted names of the globals, nothing is imported.
    """
    names, strings = [], []
    for opcode, arg, _ in pickletools.genops(file):
        if opcode.name == 'GLOBAL':
            names.append(arg.replace(' ', '.'))
        elif opcode.name == 'STACK_GLOBAL' and len(strings) >= 2:
            names.append('.'.join(strings[-2:]))
        if isinstance(arg, str):
            strings.append(arg)
    return names


def load_from_local_weights_only(filename: str,
                                 map_location: Optional[Union[
                                     str, Callable]] = None):
    """Local-path loader for mmengine's :class:`CheckpointLoader`.

    Registered for the empty prefix by :func:`setup_safe_checkpoint_loading`
    so that ``load_from``, ``--resume`` and ``init_cfg=dict(type=
    'Pretrained')`` of local files go through :func:`safe_torch_load`.

    Args:
        filename (str): Local checkpoint path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    return safe_torch_load(filename, map_location=map_location)


def setup_safe_checkpoint_loading() -> None:
    """Allow-list ``HistoryBuffer`` and install the weights-only loader.

    Called when :mod:`mmwsss` is imported; calling it again is harmless. It
    never disables ``weights_only``: every other global is still refused.
    """
    torch.serialization.add_safe_globals(SAFE_CHECKPOINT_GLOBALS)
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
