# Copyright (c) mmwsss contributors. All rights reserved.
"""Pipelines: a declared chain of tool runs, from labels to a trained model.

A pipeline config (a plain mmengine config, ``configs/pipelines/``) holds
``stages``, a dict of stages in the order they run. Each stage is one run of
a standard tool:

- ``kind='train'``: ``tools/train.py CONFIG``; its output ``checkpoint`` is
  the last checkpoint it saved;
- ``kind='test'``: ``tools/test.py CONFIG CHECKPOINT`` (writers, metrics);
- ``kind='script'``: ``python SCRIPT ARGS`` (a ``tools/`` script: data
  generation, an analysis).

A stage writes into its own folder ``<work-dir>/<stage>/`` (the tool's
``--work-dir``); the files other stages consume are its declared
``outputs`` (paths inside that folder). Stages consume each other's outputs
by name: ``'{cam.checkpoint}'`` or ``'{cam_seeds.cams}/...'`` anywhere in a
stage's ``checkpoint``, ``args``, ``options`` or ``cfg_options`` is replaced
by that output's path, and a stage may name its own outputs the same way
(``'{cam_seeds.cams}'`` in the ``cfg_options`` of ``cam_seeds``). Example::

    stages = dict(
        cam=dict(kind='train', config='configs/cam/CONFIG.py'),
        cam_seeds=dict(
            kind='test',
            config='configs/cam/CONFIG.py',
            checkpoint='{cam.checkpoint}',
            outputs=dict(cams='cams'),
            cfg_options={'test_evaluator.0.output_dir': '{cam_seeds.cams}'},
            metrics=dict(seed_miou='cam_seed/mIoU')))

Keys of a stage:

- ``kind`` (str): ``'train'``, ``'test'`` or ``'script'``.
- ``config`` (str): the tool's config (train and test stages).
- ``checkpoint`` (str): the checkpoint a test stage loads.
- ``script`` (str): the script of a script stage.
- ``args`` (list): positional arguments of a script; extra arguments of a
  tool (e.g. ``['--tta']``).
- ``options`` (dict): ``--name value`` options (``emblem_parts=[2, 3]`` gives
  ``--emblem-parts 2 3``; True a bare flag; False and None nothing).
- ``cfg_options`` (dict): ``--cfg-options`` of the tool or script, with
  dotted keys (``'train_cfg.max_epochs': 1``) or nested dicts, so that a
  pipeline's own ``--cfg-options`` can add some:
  ``stages.cam.cfg_options.train_cfg.max_epochs=1``.
- ``outputs`` (dict): output name -> path inside the stage folder.
- ``metrics`` (dict): summary name -> where the figure is read after the
  run: a key of the metrics the tool logged (``'cam_seed/mIoU'``; for
  training, the last logged value) or ``'<output>:<key>'`` in a JSON output
  (``'report:miou'``, dotted for nested keys).

Paths in a pipeline config (configs, scripts) are relative to the
repository root, as the tools' arguments are.

Everything about resuming lives here: a stage is up to date when
``<work-dir>/<stage>/stage.json`` (written atomically after its last
successful run) holds the stage's current fingerprint and its outputs are
unchanged on disk since. The fingerprint covers the stage's spec, the
stage config after its overrides, the content digests of the outputs it
consumes (so a rerun upstream stage whose outputs changed invalidates its
consumers, and their consumers in turn) and the mmwsss version.
"""
import hashlib
import json
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from mmwsss.fileio import atomic_write
from mmwsss.version import __version__

STAGE_KINDS = ('train', 'test', 'script')
# The tool each kind of stage runs (script stages name their script).
STAGE_TOOLS = dict(train='tools/train.py', test='tools/test.py')
# The implicit output of a train stage.
CHECKPOINT = 'checkpoint'
# "{stage.output}" in a stage's values.
REFERENCE = re.compile(r'\{(\w+)\.(\w+)\}')
# Record of a stage's last successful run / of its run in progress.
RECORD_FILE = 'stage.json'
STARTED_FILE = 'started.json'
# Leftovers of an interrupted atomic write (mmwsss.fileio.atomic_write).
_TMP_SUFFIX = '.tmp'


class PipelineError(RuntimeError):
    """A pipeline config or a pipeline run that cannot go on."""


@dataclass
class Stage:
    """One stage of a pipeline (see the module docstring for the keys).

    Args:
        name (str): Stage name; its folder and the name others use.
        kind (str): ``'train'``, ``'test'`` or ``'script'``.
        config (str, optional): Config of a train or test stage.
        checkpoint (str, optional): Checkpoint of a test stage.
        script (str, optional): Script of a script stage.
        args (list): Positional (script) or extra (tool) arguments.
        options (dict): ``--name value`` options.
        cfg_options (dict): ``--cfg-options``, dotted or nested.
        outputs (dict): Output name -> path inside the stage folder.
        metrics (dict): Summary name -> metric source.
    """

    name: str
    kind: str
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    script: Optional[str] = None
    args: List[Any] = field(default_factory=list)
    options: Dict[str, Any] = field(default_factory=dict)
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    outputs: Dict[str, str] = field(default_factory=dict)
    metrics: Dict[str, str] = field(default_factory=dict)

    @property
    def output_names(self) -> List[str]:
        """Names of the outputs other stages may consume."""
        implicit = [CHECKPOINT] if self.kind == 'train' else []
        return implicit + list(self.outputs)

    def command_values(self) -> dict:
        """The values that make up the stage's command line (everything
        but ``metrics``, which only says what to report)."""
        return dict(
            kind=self.kind,
            config=self.config,
            checkpoint=self.checkpoint,
            script=self.script,
            args=list(self.args),
            options=dict(self.options),
            cfg_options=flatten_cfg_options(self.cfg_options),
            outputs=dict(self.outputs))

    def references(self) -> List[Tuple[str, str]]:
        """``(stage, output)`` pairs the stage's values name, in order of
        appearance, each once."""
        found: List[Tuple[str, str]] = []
        for text in _strings(self.command_values()):
            for ref in REFERENCE.findall(text):
                if ref not in found:
                    found.append(ref)
        return found

    def inputs(self) -> List[Tuple[str, str]]:
        """The references to outputs of other stages."""
        return [ref for ref in self.references() if ref[0] != self.name]


def _strings(value: Any):
    """Every string inside ``value`` (dicts, lists, tuples), keys too."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def flatten_cfg_options(options: dict, prefix: str = '') -> Dict[str, Any]:
    """Turn nested ``cfg_options`` into dotted keys (later keys win).

    Args:
        options (dict): ``{'a.b': 1, 'c': {'d': 2}}``-like options.
        prefix (str): Key prefix of ``options``. Defaults to ''.

    Returns:
        dict: e.g. ``{'a.b': 1, 'c.d': 2}``.
    """
    flat: Dict[str, Any] = {}
    for key, value in options.items():
        full = f'{prefix}{key}'
        if isinstance(value, dict):
            flat.update(flatten_cfg_options(value, full + '.'))
        else:
            flat[full] = value
    return flat


_STAGE_KEYS = ('kind', 'config', 'checkpoint', 'script', 'args', 'options',
               'cfg_options', 'outputs', 'metrics')


def parse_stages(stages: dict) -> List[Stage]:
    """Build and check the stages of a pipeline config.

    Args:
        stages (dict): The config's ``stages``: name -> stage dict, in
            running order.

    Returns:
        list[Stage]: The stages in running order.

    Raises:
        PipelineError: On an unknown key or kind, a missing config,
            checkpoint or script, an output path outside the stage folder,
            or a reference to an unknown output or to a later stage.
    """
    if not stages:
        raise PipelineError('the pipeline config declares no `stages`')
    parsed: List[Stage] = []
    known: Dict[str, Stage] = {}
    for name, spec in stages.items():
        if not re.fullmatch(r'\w+', name):
            raise PipelineError(f'stage name {name!r}: use letters, digits '
                                'and underscores')
        unknown = set(spec) - set(_STAGE_KEYS)
        if unknown:
            raise PipelineError(f'stage {name}: unknown keys '
                                f'{sorted(unknown)} (known: {_STAGE_KEYS})')
        spec = {
            key: value.to_dict() if hasattr(value, 'to_dict') else value
            for key, value in spec.items()
        }
        stage = Stage(name=name, **spec)
        _check_stage(stage, known)
        parsed.append(stage)
        known[name] = stage
    return parsed


def _check_stage(stage: Stage, earlier: Dict[str, Stage]) -> None:
    where = f'stage {stage.name}'
    if stage.kind not in STAGE_KINDS:
        raise PipelineError(f'{where}: kind {stage.kind!r}, expected one of '
                            f'{STAGE_KINDS}')
    needed = dict(
        train=('config', ), test=('config', 'checkpoint'),
        script=('script', ))[stage.kind]
    for key in needed:
        if not getattr(stage, key):
            raise PipelineError(f'{where}: a {stage.kind} stage needs '
                                f'`{key}`')
    if stage.kind == 'train' and CHECKPOINT in stage.outputs:
        raise PipelineError(f'{where}: `{CHECKPOINT}` is the implicit '
                            'output of a train stage; do not declare it')
    for name, path in stage.outputs.items():
        parts = osp.normpath(path).split(os.sep)
        if osp.isabs(path) or parts[0] in ('..', '.', ''):
            raise PipelineError(
                f'{where}: output {name}={path!r} must be a path inside the '
                'stage folder')
    for ref_stage, output in stage.references():
        if ref_stage == stage.name:
            if output not in stage.outputs:
                raise PipelineError(
                    f'{where}: {{{ref_stage}.{output}}} names no declared '
                    f'output (outputs: {sorted(stage.outputs)})')
        elif ref_stage not in earlier:
            raise PipelineError(
                f'{where}: {{{ref_stage}.{output}}} names no earlier stage')
        elif output not in earlier[ref_stage].output_names:
            raise PipelineError(
                f'{where}: stage {ref_stage} has no output {output!r} '
                f'(outputs: {earlier[ref_stage].output_names})')


def load_pipeline(path: str,
                  cfg_options: Optional[dict] = None) -> Tuple[Config,
                                                               List[Stage]]:
    """Read a pipeline config and its stages.

    Args:
        path (str): The pipeline config.
        cfg_options (dict, optional): Overrides of the pipeline config
            (``stages.cam.cfg_options.train_cfg.max_epochs=1``).

    Returns:
        tuple[Config, list[Stage]]: The config and its stages.
    """
    cfg = Config.fromfile(path, import_custom_modules=False)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg, parse_stages(cfg.get('stages'))


def select_stages(stages: Sequence[Stage],
                  names: Optional[Sequence[str]] = None,
                  start: Optional[str] = None) -> List[str]:
    """The names of the stages to run: ``names``, or ``start`` and every
    later stage, or all.

    Args:
        stages (Sequence[Stage]): The pipeline's stages.
        names (Sequence[str], optional): Stages to run. Defaults to None.
        start (str, optional): First stage to run. Defaults to None.

    Returns:
        list[str]: Selected stage names, in running order.
    """
    order = [stage.name for stage in stages]
    for name in list(names or []) + ([start] if start else []):
        if name not in order:
            raise PipelineError(f'no stage {name!r} (stages: {order})')
    if names:
        return [name for name in order if name in names]
    if start:
        return order[order.index(start):]
    return order


def resolve(value: Any, paths: Dict[Tuple[str, str], str]) -> Any:
    """Replace every ``{stage.output}`` inside ``value`` by its path.

    Args:
        value: A string, or a dict/list/tuple of them (and other values,
            returned as they are).
        paths (dict): ``(stage, output)`` -> path.

    Returns:
        The value with the references replaced.
    """
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: paths[(m.group(1), m.group(2))],
                             value)
    if isinstance(value, dict):
        return {
            resolve(key, paths): resolve(item, paths)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(item, paths) for item in value)
    return value


def _canonical(value: Any) -> str:
    """Deterministic JSON text of ``value`` (config values included)."""

    def default(obj):
        name = getattr(obj, '__qualname__', None)
        if name is not None:  # classes and functions of lazy configs
            return f'{getattr(obj, "__module__", "")}.{name}'
        return repr(obj)

    return json.dumps(value, sort_keys=True, default=default)


def stage_config_dict(stage: Stage, root: str) -> dict:
    """The stage's tool config after its ``cfg_options``, with the
    references still unresolved (so that the fingerprint does not depend on
    where the work dir is).

    Args:
        stage (Stage): A train or test stage.
        root (str): Repository root (config paths are relative to it).

    Returns:
        dict: The merged config.
    """
    cfg = Config.fromfile(
        osp.join(root, stage.config), import_custom_modules=False)
    cfg.merge_from_dict(flatten_cfg_options(stage.cfg_options))
    return cfg.to_dict()


def stage_fingerprint(stage: Stage, root: str,
                      input_digests: Dict[str, str]) -> str:
    """SHA-256 of everything a stage's outputs depend on.

    Args:
        stage (Stage): The stage.
        root (str): Repository root.
        input_digests (dict): ``'stage.output'`` -> content digest of every
            output of another stage this stage consumes.

    Returns:
        str: Hex digest.
    """
    payload = dict(
        mmwsss_version=__version__,
        stage=stage.command_values(),
        inputs=input_digests)
    if stage.config:
        payload['config'] = stage_config_dict(stage, root)
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_files(path: str) -> List[str]:
    """Files under ``path`` (relative, sorted), without the leftovers of
    interrupted atomic writes."""
    files = []
    for folder, _, names in os.walk(path):
        for name in names:
            if not name.endswith(_TMP_SUFFIX):
                files.append(
                    osp.relpath(osp.join(folder, name), path).replace(
                        os.sep, '/'))
    return sorted(files)


def content_digest(path: str) -> str:
    """SHA-256 of a file's bytes, or of a folder's file names and bytes.

    Args:
        path (str): A file or a folder.

    Returns:
        str: Hex digest.
    """
    if osp.isfile(path):
        return _file_sha256(path)
    digest = hashlib.sha256()
    for name in _folder_files(path):
        file_digest = _file_sha256(osp.join(path, name))
        digest.update(f'{name}\0{file_digest}\n'.encode())
    return digest.hexdigest()


def stat_signature(path: str) -> Optional[str]:
    """A cheap signature (names, sizes, modification times) that changes
    when a file or a folder's files change; None if ``path`` is missing.

    Args:
        path (str): A file or a folder.

    Returns:
        str | None: Hex digest.
    """
    if not osp.exists(path):
        return None
    files = [''] if osp.isfile(path) else _folder_files(path)
    digest = hashlib.sha256()
    for name in files:
        info = os.stat(osp.join(path, name) if name else path)
        digest.update(f'{name}\0{info.st_size}\0{info.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def describe_output(path: str, stage_dir: str) -> dict:
    """What a stage record keeps of one output.

    Args:
        path (str): The output file or folder.
        stage_dir (str): The stage folder.

    Returns:
        dict: ``path`` (relative to the stage folder), ``digest`` (content)
        and ``stat`` (:func:`stat_signature`).
    """
    return dict(
        path=osp.relpath(path, stage_dir),
        digest=content_digest(path),
        stat=stat_signature(path))


def read_json(path: str) -> Optional[dict]:
    """The JSON object in ``path``, or None if there is none."""
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_json(path: str, value: dict) -> None:
    """Write ``value`` as JSON atomically."""
    atomic_write(path, lambda f: f.write(
        json.dumps(value, indent=2).encode()))


def intact_record(stage_dir: str) -> Optional[dict]:
    """The record of a stage's last successful run, if its outputs are
    still on disk unchanged since.

    Args:
        stage_dir (str): The stage folder.

    Returns:
        dict | None: The content of ``stage.json``.
    """
    record = read_json(osp.join(stage_dir, RECORD_FILE))
    if record is None:
        return None
    for output in record['outputs'].values():
        path = osp.join(stage_dir, output['path'])
        if stat_signature(path) != output['stat']:
            return None
    return record
