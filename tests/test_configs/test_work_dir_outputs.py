# Copyright (c) mmwsss contributors. All rights reserved.
"""Every stage output of a config lies under the run's work dir unless set
explicitly: its writers write to ``{work_dir}/...`` (``--work-dir`` moves
them), and the configs that read another stage's outputs name that stage's
default location, ``work_dirs/<producer config stem>/...`` (as they name its
checkpoints)."""
import copy
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmwsss.evaluation.writers.base_writer import BaseWriter
from mmwsss.registry import METRICS
from mmwsss.utils.launch import (WORK_DIR_PLACEHOLDER, load_config,
                                 resolve_work_dir_placeholders)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(path, osp.join(ROOT, 'configs'))
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if path.split(osp.sep)[-2] not in ('_base_', 'pipelines'))
# Writer arguments naming what the writer makes. Any other path argument
# (``*_dir``/``*_file``) must be an input (``source_*``): a new one fails
# here until it is sorted into one of the two.
OUTPUT_KEYS = ('output_dir', 'ann_file', 'fg_ann_file', 'ignore_ann_file',
               'semantic_dir')


@functools.lru_cache(maxsize=None)
def _read(config: str) -> Config:
    """The config as its file says (read once; copy before changing)."""
    return Config.fromfile(osp.join(ROOT, 'configs', config))


def _load(config: str, work_dir: str, options=None) -> Config:
    """The config as tools/test.py loads it."""

    class Args:
        pass

    args = Args()
    args.config = osp.join(ROOT, 'configs', config)
    args.work_dir = work_dir
    args.cfg_options = options
    args.launcher = 'none'
    args.local_rank = 0
    return load_config(args)


def _writers(cfg) -> list:
    found = []
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key) or []
        for one in evaluator if isinstance(evaluator, list) else [evaluator]:
            # our writers are spelt mmwsss.X in the hosts' scopes
            scope, _, name = str(one['type']).rpartition('.')
            cls = METRICS.get(name) if scope == 'mmwsss' else None
            if cls is not None and issubclass(cls, BaseWriter):
                found.append(one)
    return found


def _outputs(writer: dict) -> list:
    paths = []
    for key, value in writer.items():
        if not (key.endswith(('_dir', '_file')) and isinstance(value, str)):
            continue
        assert key in OUTPUT_KEYS or key.startswith('source_'), (
            f'{writer["type"]}.{key}: an output or an input? Add it to '
            'OUTPUT_KEYS if the writer makes it')
        if key in OUTPUT_KEYS:
            paths.append(value)
    return paths


WRITER_CONFIGS = [
    config for config in CONFIGS
    if _writers(_read(config))
]


def test_writer_configs_are_found():
    assert len(WRITER_CONFIGS) >= 40
    assert 'cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py' in WRITER_CONFIGS


@pytest.mark.parametrize('config', WRITER_CONFIGS)
def test_every_writer_writes_under_the_work_dir(config):
    cfg = copy.deepcopy(_read(config))
    cfg.work_dir = '/runs/x'
    resolve_work_dir_placeholders(cfg)
    outputs = [path for one in _writers(cfg) for path in _outputs(one)]
    assert outputs, config
    for path in outputs:
        assert path.startswith('/runs/x/'), f'{config}: {path}'
    assert len(set(outputs)) == len(outputs), config


def test_tools_load_the_outputs_into_the_work_dir():
    config = 'cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'
    assert _load(config, '/runs/x').test_evaluator[0].output_dir == (
        '/runs/x/cams')
    # without --work-dir: mmengine's default, work_dirs/<config stem>
    assert _load(config, None).test_evaluator[0].output_dir == (
        './work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams')


def test_an_explicit_folder_still_wins():
    config = 'irn/ir-label_r18w32-os16_synthvoc.py'
    cfg = _load(config, '/runs/x', {'ir_label_dir': '/labels'})
    assert cfg.test_evaluator[0].output_dir == '/labels'
    cfg = _load(config, '/runs/x',
                {'test_evaluator.0.output_dir': '/labels2'})
    assert cfg.test_evaluator[0].output_dir == '/labels2'
    config = 'bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py'
    cfg = _load(config, '/runs/x', {'bbam_dir': '/bbam'})
    assert cfg.test_evaluator[1].fg_ann_file == (
        '/bbam/instances_train_fg85.json')


def _default_outputs() -> dict:
    """Every folder or file a writer config makes when run without
    ``--work-dir``, as consumers spell it (``work_dirs/<stem>/...``)."""
    made = {}
    for config in WRITER_CONFIGS:
        stem = osp.splitext(osp.basename(config))[0]
        for one in _writers(_read(config)):
            for path in _outputs(one):
                made[path.replace(WORK_DIR_PLACEHOLDER,
                                  f'work_dirs/{stem}')] = config
    return made


def _stage_inputs(node, found):
    if isinstance(node, dict):
        for value in node.values():
            _stage_inputs(value, found)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _stage_inputs(value, found)
    elif (isinstance(node, str) and node.startswith('work_dirs/')
          and not node.endswith('.pth')):
        found.append(node)
    return found


def test_consumers_read_the_default_outputs_of_their_producers():
    made = _default_outputs()
    for config in CONFIGS:
        # top-level folder variables, dataloaders, hooks, model; a folder
        # variable may hold several outputs (bbam_dir: maps/, masks/...)
        for path in _stage_inputs(_read(config).to_dict(), []):
            path = path.rstrip('/')
            assert any(out == path or out.startswith(path + '/')
                       for out in made), (
                f'{config} reads {path}, which no config writes by default')
