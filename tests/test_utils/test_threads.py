# Copyright (c) mmwsss contributors. All rights reserved.
import os

import pytest
import torch
from mmengine.config import Config

from mmwsss.utils import threads as threads_module
from mmwsss.utils.threads import (ThreadPlan, add_channels_last_hook,
                                  apply_thread_plan, plan_threads,
                                  processes_per_node)


@pytest.mark.parametrize(
    'cores, processes, workers, crf, expected',
    [
        # one core: everything in the main process
        (1, 1, 2, 8, ThreadPlan(threads=1, workers=0, crf_workers=0)),
        # 2 cores: the config's 2 workers, both cores for torch and for the
        # CRFs
        (2, 1, 2, 2, ThreadPlan(threads=2, workers=2, crf_workers=2)),
        # 4 workers asked on 2 cores: capped at the cores
        (2, 1, 4, 2, ThreadPlan(threads=2, workers=2, crf_workers=2)),
        # 16 cores: the config's 4 workers fit
        (16, 1, 4, 8, ThreadPlan(threads=16, workers=4, crf_workers=8)),
        # 8 workers asked on 8 cores: they fit
        (8, 1, 8, 8, ThreadPlan(threads=8, workers=8, crf_workers=8)),
        # 4 ranks on 16 cores: 4 cores each
        (16, 4, 8, 8, ThreadPlan(threads=4, workers=4, crf_workers=4)),
        # more ranks than cores: one core each, no helpers
        (2, 4, 2, 2, ThreadPlan(threads=1, workers=0, crf_workers=0)),
        # nothing asked: the bounds
        (8, 2, None, None, ThreadPlan(threads=4, workers=4, crf_workers=4)),
        # the config asks for no workers: none
        (8, 1, 0, 0, ThreadPlan(threads=8, workers=0, crf_workers=0)),
    ])
def test_plan_threads(cores, processes, workers, crf, expected):
    assert plan_threads(cores, processes, workers, crf) == expected


def test_plan_threads_spinning_leaves_the_workers_their_cores():
    assert plan_threads(4, 1, 2, spinning=True) == ThreadPlan(
        threads=2, workers=2, crf_workers=4)
    assert plan_threads(16, 4, 8, spinning=True).threads == 2
    assert plan_threads(8, 1, 0, spinning=True).threads == 8


def test_plan_threads_fixed_threads_and_kept_workers():
    plan = plan_threads(4, 1, workers=2, threads=3)
    assert plan == ThreadPlan(threads=3, workers=2, crf_workers=4)
    # training keeps the config's workers
    assert plan_threads(2, 1, workers=2, keep_workers=True) == ThreadPlan(
        threads=2, workers=2, crf_workers=2)
    assert plan_threads(
        16, 1, workers=12, keep_workers=True, spinning=True).threads == 4
    with pytest.raises(ValueError):
        plan_threads(0, 1)


def test_processes_per_node(monkeypatch):
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.delenv('SLURM_NTASKS_PER_NODE', raising=False)
    assert processes_per_node() == 1
    monkeypatch.setenv('SLURM_NTASKS_PER_NODE', '2(x3)')
    assert processes_per_node() == 2
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '4')
    assert processes_per_node() == 4


def _cfg(**extra):
    loader = dict(num_workers=2, persistent_workers=True, batch_size=1)
    return Config(
        dict(
            model=dict(type='mmwsss.IRLabelGenerator', num_workers=8),
            test_dataloader=dict(loader),
            train_dataloader=dict(loader, num_workers=4),
            **extra))


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(threads_module, 'available_cores', lambda: 4)
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.delenv('SLURM_NTASKS_PER_NODE', raising=False)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    monkeypatch.setenv('GOMP_SPINCOUNT', '10000')
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_apply_thread_plan(four_cores):
    cfg = _cfg()
    plan = apply_thread_plan(cfg)
    assert plan == ThreadPlan(threads=4, workers=4, crf_workers=4)
    assert torch.get_num_threads() == 4
    assert cfg.test_dataloader.num_workers == 2
    assert cfg.train_dataloader.num_workers == 4
    assert cfg.model.num_workers == 4


def test_bbam_crf_workers_are_planned_too(four_cores):
    cfg = Config(dict(model=dict(type='mmwsss.BBAM', num_workers=8)))
    assert apply_thread_plan(cfg).crf_workers == 4
    assert cfg.model.num_workers == 4


def test_apply_thread_plan_overrides(four_cores, monkeypatch):
    # flags beat cpu_cfg, cpu_cfg beats the plan
    cfg = _cfg(cpu_cfg=dict(threads=3, workers=1, crf_workers=0))
    apply_thread_plan(cfg, workers=0)
    assert torch.get_num_threads() == 3
    assert cfg.test_dataloader.num_workers == 0
    assert not cfg.test_dataloader.persistent_workers
    assert cfg.model.num_workers == 0
    # an explicit OMP_NUM_THREADS fixes the threads
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    cfg = _cfg()
    assert apply_thread_plan(cfg).threads == 1
    # training keeps the config's workers
    cfg = _cfg()
    apply_thread_plan(cfg, keep_workers=True)
    assert cfg.train_dataloader.num_workers == 4
    # auto=False keeps the config's numbers
    cfg = _cfg(cpu_cfg=dict(auto=False))
    apply_thread_plan(cfg)
    assert cfg.model.num_workers == 8
    assert cfg.train_dataloader.num_workers == 4
    # spinning OpenMP threads leave the workers their cores
    monkeypatch.delenv('OMP_NUM_THREADS')
    monkeypatch.setenv('OMP_WAIT_POLICY', 'active')
    assert apply_thread_plan(_cfg()).threads == 2
    with pytest.raises(ValueError, match='cpu_cfg'):
        apply_thread_plan(_cfg(cpu_cfg=dict(thread=1)))


def _channels_last_hooks(cfg):
    return [
        hook for hook in cfg.get('custom_hooks') or []
        if hook['type'] == 'mmwsss.ChannelsLastHook'
    ]


def test_channels_last_where_the_config_opts_in_on_cpu(
        four_cores, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = _cfg(
        cpu_cfg=dict(channels_last=True),
        custom_hooks=[dict(type='mmwsss.WSSSVisualizationHook')])
    # the thread plan accepts the key and leaves it to the test tool
    apply_thread_plan(cfg)
    assert not _channels_last_hooks(cfg)
    assert add_channels_last_hook(cfg)
    assert len(_channels_last_hooks(cfg)) == 1
    assert cfg.custom_hooks[0]['type'] == 'mmwsss.WSSSVisualizationHook'
    # applied twice (a tool and a benchmark), still one hook
    assert add_channels_last_hook(cfg)
    assert len(_channels_last_hooks(cfg)) == 1
    # not asked for, or turned off for one run
    cfg = _cfg()
    assert not add_channels_last_hook(cfg)
    assert not _channels_last_hooks(cfg)
    cfg = _cfg(cpu_cfg=dict(channels_last=True))
    assert not add_channels_last_hook(cfg, channels_last=False)
    assert not _channels_last_hooks(cfg)
    assert add_channels_last_hook(_cfg(), channels_last=True)
    # a GPU job runs as its config says
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = _cfg(cpu_cfg=dict(channels_last=True))
    assert not add_channels_last_hook(cfg)
    assert not _channels_last_hooks(cfg)


def _training_cfg(loop=None, hook=True):
    cfg = _cfg(
        train_cfg=loop or dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook')))
    if hook:
        cfg.default_hooks.reproducible_resume = dict(
            type='mmwsss.ReproducibleResumeHook')
    return cfg


@pytest.mark.parametrize('cores', [1, 2])
def test_cpu_training_on_few_cores_tries_main_process_loading(
        four_cores, monkeypatch, cores):
    monkeypatch.setattr(threads_module, 'available_cores', lambda: cores)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = _training_cfg()
    apply_thread_plan(cfg, keep_workers=True)
    assert cfg.train_dataloader.num_workers == 4
    assert cfg.default_hooks.reproducible_resume.loading == 'fastest'
    assert 'stream_workers' not in cfg.default_hooks.reproducible_resume


@pytest.mark.parametrize('loop', [
    dict(type='IterBasedTrainLoop', max_iters=300),
    dict(type='mmengine.IterBasedTrainLoop', max_iters=300),
    dict(by_epoch=False, max_iters=300)
])
@pytest.mark.parametrize('case, loading, workers',
                         [('2 cores', 'fastest', 4), ('4 cores', 'workers', 4),
                          ('cuda host', 'workers', 4), ('config', 'main', 4),
                          ('--workers 1', 'workers', 1)])
def test_iteration_training_loads_through_the_hook(four_cores, monkeypatch,
                                                   loop, case, loading,
                                                   workers):
    monkeypatch.setattr(threads_module, 'available_cores',
                        lambda: 4 if case == '4 cores' else 2)
    monkeypatch.setattr(torch.cuda, 'is_available',
                        lambda: case == 'cuda host')
    cfg = _training_cfg(loop=loop)
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.train_dataloader.prefetch_factor = 4
    if case == 'config':
        cfg.default_hooks.reproducible_resume.loading = 'main'
    apply_thread_plan(
        cfg, workers=1 if case == '--workers 1' else None, keep_workers=True)
    # The hook loads with the streams of the config's workers, through
    # loaders of its own: the loop's loader starts no workers.
    assert cfg.train_dataloader.num_workers == 0
    assert not cfg.train_dataloader.persistent_workers
    assert 'prefetch_factor' not in cfg.train_dataloader
    hook = cfg.default_hooks.reproducible_resume
    assert (hook.loading, hook.stream_workers) == (loading, workers)


@pytest.mark.parametrize(
    'case',
    ['4 cores', 'cuda host', 'iteration loop, finite sampler', 'no hook',
     'fixed workers'])
def test_training_keeps_its_workers(four_cores, monkeypatch, case):
    monkeypatch.setattr(torch.cuda, 'is_available',
                        lambda: case == 'cuda host')
    if case != '4 cores':
        monkeypatch.setattr(threads_module, 'available_cores', lambda: 2)
    cfg = _training_cfg(
        loop=dict(type='IterBasedTrainLoop', max_iters=10)
        if case == 'iteration loop, finite sampler' else None,
        hook=case != 'no hook')
    apply_thread_plan(
        cfg, workers=1 if case == 'fixed workers' else None,
        keep_workers=True)
    expected = 1 if case == 'fixed workers' else 4
    assert cfg.train_dataloader.num_workers == expected
    hook = cfg.default_hooks.get('reproducible_resume', {})
    assert 'loading' not in hook
    # Changed workers: the hook still knows the config's (and warns).
    assert hook.get('stream_workers') == (4 if expected == 1 else None)
    if case == 'fixed workers':
        cfg = _training_cfg()
        apply_thread_plan(cfg, workers=0, keep_workers=True)
        # ... and follows their streams without workers
        assert cfg.train_dataloader.num_workers == 0
        assert cfg.default_hooks.reproducible_resume.stream_workers == 4


def _test_job_cfg(loop='mmwsss.ResumableTestLoop', workers=2):
    cfg = _cfg(test_cfg=dict(type=loop))
    cfg.test_dataloader.num_workers = workers
    return cfg


@pytest.mark.parametrize('cores', [1, 2, 4])
def test_cpu_test_jobs_on_two_cores_try_main_process_loading(
        four_cores, monkeypatch, cores):
    monkeypatch.setattr(threads_module, 'available_cores', lambda: cores)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = _test_job_cfg()
    apply_thread_plan(cfg)
    # one core: no workers, nothing to try; four: the workers stay
    assert cfg.test_cfg.get('loading') == ('fastest' if cores == 2 else None)
    # two ranks on four cores have two each
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    cfg = _test_job_cfg()
    apply_thread_plan(cfg)
    assert cfg.test_cfg.get('loading') == ('fastest' if cores == 4 else None)


@pytest.mark.parametrize(
    'case', ['cuda host', 'other loop', 'fixed workers', 'no workers',
             'training', 'auto off', 'config says'])
def test_test_jobs_keep_their_loading(four_cores, monkeypatch, case):
    monkeypatch.setattr(threads_module, 'available_cores', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'is_available',
                        lambda: case == 'cuda host')
    cfg = _test_job_cfg(
        loop='TestLoop' if case == 'other loop' else
        'mmwsss.ResumableTestLoop',
        workers=0 if case == 'no workers' else 2)
    if case == 'auto off':
        cfg.cpu_cfg = dict(auto=False)
    if case == 'config says':
        cfg.test_cfg.loading = 'workers'
    apply_thread_plan(
        cfg, workers=2 if case == 'fixed workers' else None,
        keep_workers=case == 'training')
    expected = 'workers' if case == 'config says' else None
    assert cfg.test_cfg.get('loading') == expected


@pytest.mark.parametrize('policy,count,spinning', [
    ('PASSIVE', None, False),
    ('passive', 'infinite', False),
    ('ACTIVE', '10000', True),
    (None, '10000', False),  # the tools' default
    (None, '10k', False),
    (None, '0', False),
    (None, '300000', True),
    (None, '1M', True),
    (None, 'infinity', True),
    (None, None, True),  # libgomp's default: 300000
    (None, 'junk', True),
])
def test_omp_spinning(monkeypatch, policy, count, spinning):
    for name, value in (('OMP_WAIT_POLICY', policy), ('GOMP_SPINCOUNT',
                                                       count)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert threads_module.omp_spinning() is spinning


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
@pytest.mark.parametrize('policy', [None, 'ACTIVE'])
def test_tools_set_short_openmp_waits(tool, policy):
    """Unless the user chose a wait policy, the tools make OpenMP threads
    spin briefly (before torch loads); a chosen policy is kept as is."""
    import os.path as osp
    import subprocess
    import sys
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME')
    }
    if policy:
        env['OMP_WAIT_POLICY'] = policy
    # the tool's lines up to its first import after the OpenMP settings
    path = osp.join(root, 'tools', tool)
    with open(path) as f:
        head = f.read().split('import argparse')[0]
    code = head + ('\nimport os\nprint(os.environ.get("GOMP_SPINCOUNT"), '
                   'os.environ.get("KMP_BLOCKTIME"), '
                   'os.environ.get("OMP_WAIT_POLICY"))')
    out = subprocess.run([sys.executable, '-c', code],
                         env=env,
                         capture_output=True,
                         text=True,
                         check=True).stdout.split()
    if policy:
        assert out == ['None', 'None', policy]
    else:
        assert out == ['10000', '0', 'None']
