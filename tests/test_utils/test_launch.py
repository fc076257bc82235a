# Copyright (c) mmwsss contributors. All rights reserved.
"""Teardown of the distributed tools and the renamed configs
(``mmwsss.utils.launch``)."""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmwsss.testing import free_port
from mmwsss.utils.launch import (RENAMED_CONFIGS, live_gloo_threads,
                                 load_config, resolve_config_path,
                                 shutdown_distributed)

# A one-process gloo group as tools/test.py builds it: a DDP-wrapped model
# held by a runner, a last object collective and a barrier, then the
# shutdown with or without the runner.
SCRIPT = """
import json, sys, types
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmwsss.utils.launch import live_gloo_threads, shutdown_distributed

dist.init_process_group('gloo')
runner = types.SimpleNamespace(model=MMDistributedDataParallel(
    torch.nn.Linear(2, 2), device_ids=None))
gathered = [None]
dist.all_gather_object(gathered, {'rank': 0})
dist.barrier()
before = live_gloo_threads()
shutdown_distributed(runner if sys.argv[1] == 'runner' else None)
print(json.dumps(dict(
    before=before, after=live_gloo_threads(),
    initialized=dist.is_initialized(),
    unwrapped=type(runner.model) is torch.nn.Linear)))
"""


def _shutdown_in_subprocess(mode: str) -> dict:
    env = dict(
        os.environ,
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port()),
        RANK='0',
        WORLD_SIZE='1',
        LOCAL_RANK='0',
        OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', SCRIPT, mode],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return (json.loads(proc.stdout.strip().splitlines()[-1]),
            proc.stdout + proc.stderr)


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith('linux'), reason='reads /proc/self/task')
def test_shutdown_joins_gloo_threads_before_exit():
    # Threads that outlive the interpreter abort the process at exit
    # ("terminate called without an active exception").
    result, _ = _shutdown_in_subprocess('runner')
    assert 'pt_gloo_runloop' in result['before']
    assert result['after'] == []
    assert result['unwrapped'] and not result['initialized']

    # While the DDP wrapper is alive it holds the group: destroying the
    # group alone leaves gloo running, and the shutdown says so.
    result, log = _shutdown_in_subprocess('no_runner')
    assert 'pt_gloo_runloop' in result['after']
    assert not result['initialized']
    assert 'gloo threads outlive destroy_process_group' in log


def test_shutdown_without_a_group_is_a_no_op():
    shutdown_distributed()
    assert isinstance(live_gloo_threads(), list)


def _tool_args(config: str) -> argparse.Namespace:
    return argparse.Namespace(
        config=config, work_dir=None, cfg_options=None, launcher='none',
        local_rank=0)


def test_every_renamed_config_maps_to_an_existing_file(repo_root):
    for old, new in RENAMED_CONFIGS.items():
        assert not osp.exists(osp.join(repo_root, 'configs', old)), old
        assert osp.isfile(osp.join(repo_root, 'configs', new)), new


@pytest.mark.parametrize('relative', [True, False])
def test_old_config_path_loads_the_renamed_config(repo_root, monkeypatch,
                                                   relative):
    monkeypatch.setenv('LOCAL_RANK', '0')
    old = 'configs/irn/irnet-rw_r18_synthvoc.py'
    new = 'configs/irn/irnet-rw_r18w32_synthvoc.py'
    if relative:
        monkeypatch.chdir(repo_root)
    else:
        old, new = (osp.join(repo_root, path) for path in (old, new))
    args = _tool_args(old)
    with pytest.warns(DeprecationWarning, match='irnet-rw_r18w32_synthvoc'):
        cfg = load_config(args)
    assert args.config == new
    assert cfg.filename == new
    # The work dir is named after the new file, as the docs' paths are.
    assert osp.basename(cfg.work_dir) == 'irnet-rw_r18w32_synthvoc'


def test_existing_and_unknown_config_paths_are_left_alone(
        repo_root, tmp_path, monkeypatch, recwarn):
    monkeypatch.setenv('LOCAL_RANK', '0')
    current = osp.join(repo_root, 'configs/irn/irnet-rw_r18w32_synthvoc.py')
    assert resolve_config_path(current) == current
    # An old name outside a configs tree that holds the new file, and a
    # name that never existed, still fail as before.
    for missing in (str(tmp_path / 'irn' / 'irnet-rw_r18_synthvoc.py'),
                    osp.join(repo_root, 'configs/irn/irnet-rw_r19.py')):
        assert resolve_config_path(missing) == missing
        with pytest.raises(FileNotFoundError):
            load_config(_tool_args(missing))
    assert not [w for w in recwarn if w.category is DeprecationWarning]


def test_overriding_data_root_moves_every_path_under_it():
    from mmengine.config import Config

    from mmwsss.utils.launch import merge_options
    cfg = Config(
        dict(
            data_root='data/VOCdevkit/',
            cam_dir='work_dirs/cams/voc',
            train_dataloader=dict(
                dataset=dict(
                    data_root='data/VOCdevkit/',
                    ann_file='data/VOCdevkit/VOC2012/a.json')),
            custom_hooks=[dict(dataset=dict(data_root='data/VOCdevkit'))],
            test_evaluator=[
                dict(gt_dir='data/VOCdevkit/VOC2012/SegmentationObject'),
                dict(other='data/VOCdevkit2/x', cams='work_dirs/cams/voc')
            ]))
    merge_options(cfg, {'data_root': '/d/', 'cam_dir': '/c'})
    assert cfg.train_dataloader.dataset.data_root == '/d/'
    assert cfg.train_dataloader.dataset.ann_file == '/d/VOC2012/a.json'
    assert cfg.custom_hooks[0].dataset.data_root == '/d'
    assert cfg.test_evaluator[0].gt_dir == '/d/VOC2012/SegmentationObject'
    # not under the old folder; the CAM folder moved with its variable
    assert cfg.test_evaluator[1].other == 'data/VOCdevkit2/x'
    assert cfg.test_evaluator[1].cams == '/c'
    # a specific option still wins over the moved value
    merge_options(cfg, {'train_dataloader.dataset.data_root': '/e'})
    assert cfg.train_dataloader.dataset.data_root == '/e'


def test_work_dir_placeholder_resolves_to_the_run_work_dir():
    from mmengine.config import Config

    from mmwsss.utils.launch import resolve_work_dir_placeholders
    cfg = Config(
        dict(
            work_dir='runs/a',
            test_evaluator=[dict(output_dir='{work_dir}/cams')],
            other='work_dirs/x'))
    assert resolve_work_dir_placeholders(cfg) == 1
    assert cfg.test_evaluator[0].output_dir == 'runs/a/cams'
    assert cfg.other == 'work_dirs/x'
