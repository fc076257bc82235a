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
(and nothing else) and replaces mmengine's loaders by ones that refuse any
other global with a clear error.

That covers every scheme of mmengine's ``CheckpointLoader``, not only local
paths: its URL loader (behind ``http(s)://``, ``torchvision://``,
``open-mmlab://``, ``mmcls://``) ends in
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults to
False, and its ``pavi://`` and ``s3://`` loaders call ``torch.load`` with the
defaults, which ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns into full
pickle. Here the bytes of every scheme reach ``torch.load(weights_only=True)``
(explicit, so that no environment variable overrides it).
"""
import io
import logging
import os
import os.path as osp
import pickle
import pickletools
import re
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from tempfile import TemporaryDirectory
from typing import IO, Any, Callable, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader
from mmengine.runner import checkpoint as mmengine_checkpoint
from torch.nn.modules.module import _IncompatibleKeys

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


def safe_torch_load(filename: Union[str, os.PathLike, IO[bytes]],
                    map_location: Optional[Union[str, Callable,
                                                 torch.device]] = None,
                    source: Optional[str] = None):
    """Load a checkpoint with ``torch.load(weights_only=True)``.

    Args:
        filename (str | PathLike | BinaryIO): Path of the checkpoint file, or
            a binary buffer holding it (e.g. downloaded bytes).
        map_location (str | Callable | torch.device, optional): Same as
            :func:`torch.load`. Defaults to None.
        source (str, optional): Where the checkpoint comes from (a URL or a
            remote path), named in error messages. Defaults to ``filename``.

    Returns:
        Any: The loaded object (usually a dict).

    Raises:
        FileNotFoundError: If the file does not exist.
        RuntimeError: If the file needs globals outside torch's and mmwsss's
            allow-lists, e.g. a pickle crafted to run code when loaded, or if
            it is truncated or corrupt.
    """
    if isinstance(filename, (str, os.PathLike)):
        filename = osp.expanduser(str(filename))
        if not osp.isfile(filename):
            raise FileNotFoundError(f'{filename} can not be found.')
        name = f'"{filename}"' if source is None else \
            f'"{source}" (read from {filename})'
    else:
        name = '"{}"'.format(source or '<in-memory checkpoint>')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise RuntimeError(
            f'Refused to load checkpoint {name}: it is not a plain '
            'weights file, and unpickling objects outside the allow-list of '
            'torch.load(weights_only=True) can execute arbitrary code. '
            f'{_describe_globals(filename)} Accepted are tensors, '
            'containers, numbers, strings and the types allow-listed by torch '
            'and mmwsss. If the file comes from a trusted source, re-save its '
            'state_dict with torch.save. Reason given by torch: '
            f'{_torch_reason(error)}') from None
    except (RuntimeError, EOFError, OSError, ValueError,
            zipfile.BadZipFile) as error:
        # torch names neither the file nor the likely cause (an interrupted
        # save or download).
        raise RuntimeError(
            f'Could not read checkpoint {name}: it is truncated or '
            f'corrupt (e.g. a save or download that was interrupted). '
            f'{type(error).__name__}: {error}') from error


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


def _describe_globals(filename: Union[str, IO[bytes]]) -> str:
    """Name the globals that made a checkpoint fail, for error messages.

    Args:
        filename (str | BinaryIO): Path of the checkpoint file, or a
            seekable binary buffer holding it.

    Returns:
        str: A sentence naming the globals, or an empty string if they
        cannot be determined.
    """
    if not isinstance(filename, str):
        filename.seek(0)
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        label = 'Globals it needs that are not allow-listed'
    except ValueError:
        # Not a torch.save zip file: list every global of the raw pickle.
        label = 'Globals it references'
        try:
            if isinstance(filename, str):
                with open(filename, 'rb') as file:
                    names = _pickle_globals(file)
            else:
                filename.seek(0)
                names = _pickle_globals(filename)
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


def _download(url: str, model_dir: Optional[str], progress: bool) -> str:
    """Download ``url`` into torch's hub cache unless it is there already.

    The cache (``<hub dir>/checkpoints/<file name of the URL>``) is the one
    of :func:`torch.hub.load_state_dict_from_url`, which mmengine used.

    Returns:
        str: The local file.
    """
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(model_dir, exist_ok=True)
    cached_file = osp.join(model_dir, osp.basename(urlparse(url).path))
    if not osp.exists(cached_file):
        print_log(f'Downloading "{url}" to {cached_file}', logger='current')
        torch.hub.download_url_to_file(url, cached_file, progress=progress)
    return cached_file


def load_from_http_weights_only(filename: str,
                                map_location: Optional[Union[str,
                                                             Callable]] = None,
                                model_dir: Optional[str] = None,
                                progress: bool = os.isatty(0)):
    """``http://``/``https://`` loader: download, then a weights-only load.

    mmengine's own loader ends in ``torch.hub.load_state_dict_from_url``,
    whose ``weights_only`` defaults to False: a downloaded pickle could run
    code. In a distributed run rank 0 downloads first, the others then read
    the cached file. A download that cannot be loaded is removed from the
    cache.

    Args:
        filename (str): The URL.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.
        model_dir (str, optional): Download folder. Defaults to torch's hub
            cache.
        progress (bool): Show a progress bar. Defaults to whether stdin is a
            terminal.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    rank, world_size = get_dist_info()
    if rank == 0:
        cached_file = _download(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            cached_file = _download(filename, model_dir, progress)
    try:
        return safe_torch_load(
            cached_file, map_location=map_location, source=filename)
    except RuntimeError:
        # Neither a refused pickle nor a truncated download stays in torch's
        # cache, where torch.hub (weights_only=False by default) or a later
        # run would find it.
        if osp.exists(cached_file):
            os.remove(cached_file)
        raise


def load_from_torchvision_weights_only(filename: str,
                                       map_location: Optional[Union[
                                           str, Callable]] = None):
    """``torchvision://NAME`` (and deprecated ``modelzoo://NAME``) loader.

    The name is resolved with mmengine's table of torchvision URLs; the file
    is loaded by :func:`load_from_http_weights_only`.

    Args:
        filename (str): ``torchvision://`` or ``modelzoo://`` path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    prefix, name = filename.split('://', 1)
    if prefix == 'modelzoo':
        print_log(
            'The URL scheme of "modelzoo://" is deprecated, please use '
            '"torchvision://" instead',
            logger='current',
            level=logging.WARNING)
    return load_from_http_weights_only(
        _resolve(filename, name, mmengine_checkpoint.get_torchvision_models()),
        map_location=map_location)


def load_from_openmmlab_weights_only(filename: str,
                                     map_location: Optional[Union[
                                         str, Callable]] = None):
    """``open-mmlab://NAME`` / ``openmmlab://NAME`` loader.

    Resolved with mmengine's OpenMMLab model table (deprecated names mapped
    to their successors); a URL is loaded by
    :func:`load_from_http_weights_only`, a relative path from mmengine's
    home folder by :func:`safe_torch_load`.

    Args:
        filename (str): ``open-mmlab://`` or ``openmmlab://`` path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    prefix, name = filename.split('://', 1)
    deprecated = mmengine_checkpoint.get_deprecated_model_names()
    if name in deprecated:
        print_log(
            f'{prefix}://{name} is deprecated in favor of '
            f'{prefix}://{deprecated[name]}',
            logger='current',
            level=logging.WARNING)
        name = deprecated[name]
    url = _resolve(filename, name, mmengine_checkpoint.get_external_models())
    if url.startswith(('http://', 'https://')):
        return load_from_http_weights_only(url, map_location=map_location)
    return safe_torch_load(
        osp.join(mmengine_checkpoint._get_mmengine_home(), url),
        map_location=map_location)


def load_from_mmcls_weights_only(filename: str,
                                 map_location: Optional[Union[
                                     str, Callable]] = None):
    """``mmcls://NAME`` loader: the backbone weights of an mmcls model.

    Args:
        filename (str): ``mmcls://`` path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        dict: ``dict(state_dict=...)`` with the ``backbone.`` weights, the
        prefix removed (as mmengine's loader returns them).
    """
    name = filename.split('://', 1)[1]
    checkpoint = load_from_http_weights_only(
        _resolve(filename, name, mmengine_checkpoint.get_mmcls_models()),
        map_location=map_location)
    state_dict = checkpoint.get('state_dict', checkpoint)
    prefix = 'backbone.'
    return dict(
        state_dict=OrderedDict((key[len(prefix):], value)
                               for key, value in state_dict.items()
                               if key.startswith(prefix)))


def load_from_pavi_weights_only(filename: str,
                                map_location: Optional[Union[str,
                                                             Callable]] = None):
    """``pavi://`` loader: download from PAVI's model cloud, then a
    weights-only load.

    Args:
        filename (str): ``pavi://`` path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(
            'Please install pavi to load checkpoint from modelcloud.') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with TemporaryDirectory() as tmp_dir:
        downloaded_file = osp.join(tmp_dir, model.name)
        model.download(downloaded_file)
        return safe_torch_load(
            downloaded_file, map_location=map_location, source=filename)


def load_from_ceph_weights_only(filename: str,
                                map_location: Optional[Union[str,
                                                             Callable]] = None,
                                backend: str = 'petrel'):
    """``s3://`` / ``petrel://`` loader (mmengine's petrel file backend).

    Args:
        filename (str): The remote path.
        map_location (str | Callable, optional): Same as :func:`torch.load`.
            Defaults to None.
        backend (str): The file backend. Defaults to ``'petrel'``.

    Returns:
        dict | OrderedDict: The loaded checkpoint.
    """
    file_backend = get_file_backend(
        filename, backend_args=dict(backend=backend))
    with io.BytesIO(file_backend.get(filename)) as buffer:
        return safe_torch_load(
            buffer, map_location=map_location, source=filename)


def _resolve(filename: str, name: str, table: Mapping) -> str:
    """Look a model name up in one of mmengine's URL tables."""
    if name not in table:
        raise KeyError(f'Unknown checkpoint "{filename}": no model named '
                       f'"{name}" in its URL table.')
    return table[name]


#: Every scheme of mmengine's :class:`CheckpointLoader` (mmengine 0.10),
#: served by a weights-only loader.
WEIGHTS_ONLY_LOADERS = {
    '': load_from_local_weights_only,
    'http://': load_from_http_weights_only,
    'https://': load_from_http_weights_only,
    'torchvision://': load_from_torchvision_weights_only,
    'modelzoo://': load_from_torchvision_weights_only,
    'open-mmlab://': load_from_openmmlab_weights_only,
    'openmmlab://': load_from_openmmlab_weights_only,
    'mmcls://': load_from_mmcls_weights_only,
    'pavi://': load_from_pavi_weights_only,
    r'(\S+\:)?s3://': load_from_ceph_weights_only,
    r'(\S+\:)?petrel://': load_from_ceph_weights_only,
}


def _load_checkpoint_weights_only(cls,
                                  filename: str,
                                  map_location=None,
                                  logger: str = 'current'):
    """Replaces :meth:`CheckpointLoader.load_checkpoint`: the loader of the
    path's scheme runs only if it is a weights-only loader of mmwsss.

    A scheme registered by another package after mmwsss was imported (or one
    that replaced mmwsss' loader) is refused rather than trusted to load
    safely.
    """
    loader = cls._get_checkpoint_loader(filename)
    if loader not in WEIGHTS_ONLY_LOADERS.values():
        raise RuntimeError(
            f'Refused to load checkpoint "{filename}": its scheme is served '
            f'by {loader.__module__}.{loader.__qualname__}, which mmwsss does '
            'not know to load with torch.load(weights_only=True); '
            'unpickling a checkpoint without the allow-list can execute '
            'arbitrary code. Register a weights-only loader for the scheme '
            '(see mmwsss.utils.checkpoint) or download the file and load it '
            'from a local path.')
    print_log(
        f'Loads checkpoint by {loader.__name__} from path: {filename}',
        logger=logger)
    return loader(filename, map_location)


def setup_safe_checkpoint_loading() -> None:
    """Allow-list ``HistoryBuffer`` and install the weights-only loaders.

    Called when :mod:`mmwsss` is imported; calling it again is harmless. It
    never disables ``weights_only``: every other global is still refused.
    Every scheme of mmengine's :class:`CheckpointLoader` (local paths, URLs,
    ``torchvision://``, ``open-mmlab://``, ``mmcls://``, ``pavi://``,
    ``s3://``...) gets a loader of :data:`WEIGHTS_ONLY_LOADERS`, and a
    scheme served by any other loader is refused.
    """
    torch.serialization.add_safe_globals(SAFE_CHECKPOINT_GLOBALS)
    for prefix, loader in WEIGHTS_ONLY_LOADERS.items():
        CheckpointLoader.register_scheme(
            prefixes=prefix, loader=loader, force=True)
    CheckpointLoader.load_checkpoint = classmethod(
        _load_checkpoint_weights_only)


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose weights do not fit the model it is loaded into."""


def _key_list(keys: list, limit: int = 10) -> str:
    """``'a, b, c'``, cut after ``limit`` keys with how many more there
    are."""
    shown = ', '.join(keys[:limit])
    more = len(keys) - limit
    return shown + (f' and {more} more' if more > 0 else '')


def load_state_dict_checked(model: torch.nn.Module,
                            checkpoint: Mapping,
                            checkpoint_name: str,
                            strict: bool = True,
                            revise_keys: Sequence[Tuple[str, str]] = (
                                (r'^module\.', ''), ),
                            partial_setting: str = 'load_from_strict = False'
                            ) -> None:
    """Load a checkpoint's weights into ``model``; fail if they do not fit.

    mmengine loads ``load_from``, ``--resume`` and a tested checkpoint with
    ``strict=False`` and only logs what does not fit, so a checkpoint of
    another model (other classes, another architecture, an empty state
    dict) runs with random weights. Here every rank raises instead, naming
    the checkpoint and the missing, unexpected and mismatching keys. The
    weights go through each module's ``_load_from_state_dict`` as in
    :meth:`torch.nn.Module.load_state_dict`, so a module that converts an
    older layout on loading (e.g. the FickleNet head taking a 1x1
    classifier) is checked after the conversion. Missing
    ``num_batches_tracked`` buffers are tolerated, as by mmengine.

    Args:
        model (nn.Module): The model (not a wrapper).
        checkpoint (Mapping): The loaded checkpoint, its weights under
            ``state_dict`` or at the top level.
        checkpoint_name (str): Path or URL, for the messages.
        strict (bool): Whether every weight of the model must be in the
            checkpoint and every weight of the checkpoint in the model, of
            the same shape. If False, only what fits is loaded (the rest is
            logged), but at least one weight must fit. Defaults to True.
        revise_keys (Sequence[tuple[str, str]]): Regex substitutions of
            the checkpoint's keys. Defaults to removing a ``module.``
            prefix.
        partial_setting (str): The config setting that allows a partial
            load, for the messages. Defaults to
            ``'load_from_strict = False'``.

    Raises:
        CheckpointMismatchError: If the checkpoint holds no weights (for a
            model that has some), or does not fit the model (as ``strict``
            defines).
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    metadata = getattr(state_dict, '_metadata', None)
    state_dict = OrderedDict((_revise(key, revise_keys), value)
                             for key, value in state_dict.items())
    if metadata is not None:
        state_dict._metadata = metadata
    model_name = type(model).__name__
    if not state_dict and model.state_dict():
        raise CheckpointMismatchError(
            f'Checkpoint "{checkpoint_name}" holds no weights (its state '
            f'dict is empty); refusing to run {model_name} with its '
            'initial weights.')

    missing, unexpected, errors = [], [], []

    def load(module: torch.nn.Module, prefix: str = '') -> None:
        local_metadata = {} if metadata is None else metadata.get(
            prefix[:-1], {})
        module._load_from_state_dict(state_dict, prefix, local_metadata, True,
                                     missing, unexpected, errors)
        for child_name, child in module._modules.items():
            if child is not None:
                load(child, f'{prefix}{child_name}.')
        incompatible = _IncompatibleKeys(missing, unexpected)
        for hook in module._load_state_dict_post_hooks.values():
            hook(module, incompatible)

    load(model)
    missing = [key for key in missing if 'num_batches_tracked' not in key]
    problems = []
    if missing:
        problems.append(f'{len(missing)} weights of the model are not in '
                        f'it: {_key_list(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} of its weights are not in the '
                        f'model: {_key_list(unexpected)}')
    if errors:
        problems.append(' '.join(errors[:10]))
    if not problems:
        return
    report = '; '.join(problems).rstrip('.')
    not_loaded = set(missing) | set(
        re.findall(r'size mismatch for (\S+):', ' '.join(errors)))
    loaded = [
        key for key in model.state_dict()
        if 'num_batches_tracked' not in key and key not in not_loaded
    ]
    if strict or not loaded:
        hint = ('Check that the checkpoint belongs to this config. If only '
                'the fitting part is meant to be loaded (e.g. a new head), '
                f'set `{partial_setting}` in the config.'
                if strict else 'None of its weights fits the model.')
        raise CheckpointMismatchError(
            f'Checkpoint "{checkpoint_name}" does not fit the model '
            f'({model_name}): {report}. {hint}')
    print_log(
        f'Checkpoint "{checkpoint_name}" fits the model ({model_name}) in '
        f'part, as the config allows ({partial_setting}): {report}.',
        logger='current',
        level=logging.WARNING)


def _revise(key: str, revise_keys: Sequence[Tuple[str, str]]) -> str:
    for pattern, replacement in revise_keys:
        key = re.sub(pattern, replacement, key)
    return key
