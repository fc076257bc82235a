# Copyright (c) mmwsss contributors. All rights reserved.
"""The fingerprint of what produces a writer's files.

A writer's folder records the fingerprint of the run that wrote it; a run
with another fingerprint must not resume (take the old files as its own).
The fingerprint covers what decides the outputs and nothing that changes
between two runs of the same command:

- the config's ``model``, ``data_preprocessor``, ``test_dataloader.dataset``
  (data, pipeline, CAM folders) and ``test_cfg`` (less the loop's error
  and overwrite switches), as sorted json; not ``work_dir``, the launcher,
  logging, hooks, batch size or workers;
- the checkpoint's SHA-256 (its path does not count);
- the input folders the model and the test data read (values of keys
  ending in ``_dir`` that are folders, e.g. ``LoadCAMFile``'s ``cam_dir``):
  the fingerprint in their ``manifest.json`` when a writer made them, else a
  digest of their files' names, sizes and modification times;
- the mmwsss version, and the writer's type and its own options.

All of it is read from the config and the files, so every rank computes the
same fingerprint.
"""
import difflib
import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional

from mmwsss.utils.config import type_name
from mmwsss.utils.threads import CRF_POOL_MODELS
from mmwsss.version import __version__

MANIFEST = 'manifest.json'
# test_cfg switches that say how to run, not what to compute.
_LOOP_SWITCHES = ('stop_on_error', 'allow_failures', 'overwrite', 'loading')


def file_sha256(path: str) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A stable json form of what a config may hold besides plain data."""
    if hasattr(value, 'to_dict'):
        return value.to_dict()
    name = getattr(value, '__qualname__', None)
    if name is not None:  # classes and functions: their import path
        return f'{getattr(value, "__module__", "")}.{name}'
    return repr(value)


def output_config(cfg: Any) -> Dict[str, Any]:
    """The parts of a config that decide a job's outputs."""
    dataloader = cfg.get('test_dataloader') or {}
    test_cfg = dict(cfg.get('test_cfg') or {})
    for key in _LOOP_SWITCHES:
        test_cfg.pop(key, None)
    model = cfg.get('model')
    if type_name(model) in CRF_POOL_MODELS:
        # its CRF processes, set per process layout by the tools, say how
        # to run, not what to compute
        model = {key: value for key, value in model.items()
                 if key != 'num_workers'}
    return dict(
        model=model,
        data_preprocessor=cfg.get('data_preprocessor'),
        test_dataset=dataloader.get('dataset'),
        test_cfg=test_cfg)


def _input_dirs(node: Any, found: List[str]) -> List[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if (str(key).endswith('_dir') and isinstance(value, str)
                    and osp.isdir(value)):
                found.append(osp.normpath(value))
            else:
                _input_dirs(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _input_dirs(value, found)
    return found


def folder_fingerprint(folder: str) -> str:
    """The fingerprint of an input folder.

    Args:
        folder (str): The folder.

    Returns:
        str: The ``fingerprint`` of its ``manifest.json`` when a writer made
        it, else ``'files:'`` and the SHA-256 of its files' relative paths,
        sizes and modification times (the files are not read).
    """
    manifest = read_manifest(folder)
    if manifest and manifest.get('fingerprint'):
        return manifest['fingerprint']
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = osp.join(root, name)
            stat = os.stat(path)
            digest.update(f'{osp.relpath(path, folder)}\0{stat.st_size}\0'
                          f'{stat.st_mtime_ns}\n'.encode())
    return 'files:' + digest.hexdigest()


def read_manifest(folder: str) -> Optional[dict]:
    """The ``manifest.json`` of a folder, or None if it has none (or an
    unreadable one)."""
    try:
        with open(osp.join(folder, MANIFEST)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def job_fingerprint(cfg: Any, checkpoint: Optional[str]) -> dict:
    """What a test job's outputs depend on (see the module's docstring).

    Args:
        cfg (Config | dict): The job's config.
        checkpoint (str, optional): The checkpoint (``load_from``).

    Returns:
        dict: ``parts`` (``config_sha256``, ``checkpoint_sha256``,
        ``inputs`` by folder, ``mmwsss_version``) and ``config_text`` (the
        hashed config, to show what changed).
    """
    selected = output_config(cfg)
    config_text = json.dumps(
        selected, sort_keys=True, indent=1, default=_plain)
    if checkpoint and osp.isfile(checkpoint):
        checkpoint_sha256 = file_sha256(checkpoint)
    else:
        checkpoint_sha256 = None
    inputs = {
        folder: folder_fingerprint(folder)
        for folder in sorted(set(_input_dirs(selected, [])))
    }
    return dict(
        parts=dict(
            config_sha256=_sha256(config_text),
            checkpoint_sha256=checkpoint_sha256,
            inputs=inputs,
            mmwsss_version=__version__),
        config_text=config_text)


def writer_fingerprint(job: dict, writer: str, options: dict) -> dict:
    """A job's fingerprint for one of its writers.

    Args:
        job (dict): :func:`job_fingerprint`.
        writer (str): The writer's type.
        options (dict): The writer's options that change its files.

    Returns:
        dict: ``fingerprint`` (hex), ``parts`` and ``config_text``.
    """
    parts = dict(job['parts'], writer=writer, writer_options=options)
    return dict(
        fingerprint=_sha256(json.dumps(parts, sort_keys=True)),
        parts=parts,
        config_text=job['config_text'])


def describe_difference(old: dict, new: dict, lines: int = 8) -> List[str]:
    """What differs between a folder's manifest and this run.

    Args:
        old (dict): The folder's manifest.
        new (dict): This run's :func:`writer_fingerprint`.
        lines (int): At most this many lines of config difference.

    Returns:
        list[str]: One line per difference.
    """
    said = []
    old_parts = old.get('fingerprint_parts') or {}
    new_parts = new['parts']
    for key, what in (('writer', 'writer'), ('writer_options',
                                             'writer options'),
                      ('checkpoint_sha256', 'checkpoint SHA-256'),
                      ('mmwsss_version', 'mmwsss version')):
        if old_parts.get(key) != new_parts.get(key):
            said.append(f'{what}: {old_parts.get(key)} (folder) vs '
                        f'{new_parts.get(key)} (this run)')
    old_inputs = old_parts.get('inputs') or {}
    for folder in sorted(set(old_inputs) | set(new_parts['inputs'])):
        was, now = old_inputs.get(folder), new_parts['inputs'].get(folder)
        if was != now:
            said.append(f'input folder {folder}: '
                        f'{was or "not read"} (folder) vs '
                        f'{now or "not read"} (this run)')
    if old_parts.get('config_sha256') != new_parts['config_sha256']:
        diff = [
            line for line in difflib.unified_diff(
                (old.get('fingerprint_config') or '').splitlines(),
                new['config_text'].splitlines(),
                lineterm='',
                n=0) if line[:1] in '+-' and line[:3] not in ('+++', '---')
        ]
        said.append('config (model, test data, test_cfg) differs: ' +
                    ' | '.join(d.strip() for d in diff[:lines]) +
                    (' | ...' if len(diff) > lines else ''))
    return said
