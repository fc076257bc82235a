# Copyright (c) mmwsss contributors. All rights reserved.
"""A training run stopped at a random iteration and resumed ends with the
weights of an uninterrupted run (mmwsss.ReproducibleResumeHook), with the
random augmentations of the SynthVOC CAM config (epoch and iteration loops)
and of W-OoD (its own OoD loader); loaded in the main process with the
streams of the config's workers, a run keeps their weights."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmwsss.engine.hooks import (ReproducibleResumeHook,
                                 add_plain_checkpoint_hook,
                                 reproducible_resume_hook)
from mmwsss.utils import safe_torch_load
from mmwsss.utils.launch import build_runner
from mmwsss.utils.threads import apply_thread_plan

CONFIGS = dict(
    cam='configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
    wood='configs/wood/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py')
MAX_EPOCHS = 3
ITERS_PER_EPOCH = 2


class _Crash(Exception):
    pass


class _CrashAfterIter(Hook):
    """Stops the run with an error after iteration ``iteration``."""

    def __init__(self, iteration: int):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration:
            raise _Crash


def _small_pipeline(pipeline: list) -> None:
    for step in pipeline:
        if step['type'] == 'mmwsss.RandomLongSideResize':
            step['long_side_range'] = (40, 80)
        if step['type'] == 'mmwsss.RandomCropPad':
            step['crop_size'] = 48


def _tiny_cfg(repo_root: str,
              synthvoc: str,
              work_dir: str,
              num_workers: int,
              config: str = 'cam',
              by_epoch: bool = True,
              infinite: bool = False) -> Config:
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[config]))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    loader = cfg.train_dataloader
    loader.update(
        batch_size=2,
        num_workers=num_workers,
        persistent_workers=num_workers > 0)
    loader.dataset.data_root = synthvoc
    _small_pipeline(loader.dataset.pipeline)
    # Validation between epochs draws from the main process's generators.
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.data_root = synthvoc
    if config == 'wood':
        cfg.load_from = None
        ood = cfg.model.ood_data
        ood.update(batch_size=2, num_workers=num_workers)
        ood.dataset.data_root = synthvoc
        _small_pipeline(ood.dataset.pipeline)
        cfg.model.num_ood_clusters = 2  # the fixture's 2 OoD images
        for hook in cfg.custom_hooks:
            hook.in_dataset.data_root = synthvoc
            hook.ood_dataset.data_root = synthvoc
    if by_epoch:
        cfg.train_cfg.update(max_epochs=MAX_EPOCHS, val_interval=1)
        cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    else:
        iters = MAX_EPOCHS * ITERS_PER_EPOCH
        cfg.train_cfg = dict(
            type='IterBasedTrainLoop',
            max_iters=iters,
            val_interval=ITERS_PER_EPOCH)
        cfg.param_scheduler = [
            dict(type='PolyLR', power=0.9, by_epoch=False, begin=0,
                 end=iters)
        ]
        cfg.default_hooks.checkpoint.update(
            by_epoch=False, interval=ITERS_PER_EPOCH, max_keep_ckpts=-1)
        cfg.log_processor = dict(by_epoch=False)
        if infinite:
            loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    cfg.default_hooks.logger.interval = 1
    add_plain_checkpoint_hook(cfg)
    return cfg


def _train(cfg: Config, crash_after: int = None) -> dict:
    runner = build_runner(cfg.copy())
    if crash_after is not None:
        runner.register_hook(_CrashAfterIter(crash_after))
        with pytest.raises(_Crash):
            runner.train()
        return {}
    runner.train()
    assert runner.iter == MAX_EPOCHS * ITERS_PER_EPOCH
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    'config, by_epoch, num_workers',
    [('cam', True, 0), ('cam', True, 2), ('cam', False, 0),
     ('cam', False, 2), ('wood', True, 0), ('wood', True, 2)],
    ids=['cam-epochs-0-workers', 'cam-epochs-2-workers',
         'cam-iterations-0-workers', 'cam-iterations-2-workers',
         'wood-epochs-0-workers', 'wood-epochs-2-workers'])
def test_resume_reproduces_an_uninterrupted_run(repo_root, synthvoc, tmp_path,
                                                config, by_epoch,
                                                num_workers):
    straight = _train(
        _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'straight'),
                  num_workers, config, by_epoch))
    # A random iteration after the first checkpoint (epoch 1 / iteration 2).
    crash_after = int(
        np.random.default_rng(num_workers).integers(
            ITERS_PER_EPOCH + 1, MAX_EPOCHS * ITERS_PER_EPOCH))
    cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'resumed'),
                    num_workers, config, by_epoch)
    _train(cfg, crash_after=crash_after)
    cfg.resume = True
    resumed = _train(cfg)

    assert resumed.keys() == straight.keys()
    different = [
        name for name, value in straight.items()
        if not torch.equal(value, resumed[name])
    ]
    assert not different, different


@pytest.mark.slow
def test_training_without_workers_follows_the_config_workers(
        repo_root, synthvoc, tmp_path):
    """Loaded in the main process, with the hook's ``stream_workers`` or
    ``loading``, a run keeps the weights of the config's workers."""
    with_workers = _train(
        _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'workers'), 2))
    cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'main'), 0)
    cfg.default_hooks.reproducible_resume.stream_workers = 2
    main_process = _train(cfg)
    different = [
        name for name, value in with_workers.items()
        if not torch.equal(value, main_process[name])
    ]
    assert not different, different
    # Trial epochs in the workers and in the main process (the tools' choice
    # on few CPU cores), then the faster: the same weights again.
    cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'fastest'), 2)
    cfg.default_hooks.reproducible_resume.loading = 'fastest'
    fastest = _train(cfg)
    assert all(torch.equal(value, fastest[name])
               for name, value in with_workers.items())
    # Without it the main process draws its own augmentations.
    cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'own'), 0)
    own = _train(cfg)
    assert any(not torch.equal(value, own[name])
               for name, value in with_workers.items())


def _different(expected: dict, got: dict) -> list:
    return [
        name for name, value in expected.items()
        if not torch.equal(value, got[name])
    ]


@pytest.mark.slow
def test_iteration_training_follows_the_config_workers(
        repo_root, synthvoc, tmp_path, monkeypatch):
    """An iteration loop with an InfiniteSampler, its loader without workers
    and the hook's ``stream_workers`` (as the tools set them): in the main
    process, in the hook's workers, or a trial of both, resumed in the trial
    or not, the weights of the config's workers."""
    # A trial of 4 of the 6 iterations: one untimed and one timed in each
    # place.
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_WARMUP_ITERATIONS', 1)
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_ITERATIONS', 1)
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_LENGTHS_LEFT', 1)
    messages = []
    log = reproducible_resume_hook.print_log
    monkeypatch.setattr(
        reproducible_resume_hook, 'print_log',
        lambda message, **kwargs: messages.append(message) or log(
            message, **kwargs))

    def cfg_for(name: str, workers: int, **hook) -> Config:
        cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / name), workers,
                        by_epoch=False, infinite=True)
        cfg.default_hooks.reproducible_resume.update(hook)
        return cfg

    with_workers = _train(cfg_for('workers', 2))
    main_process = _train(cfg_for('main', 0, stream_workers=2))
    assert not _different(with_workers, main_process)
    own_workers = _train(
        cfg_for('own', 0, stream_workers=2, loading='workers'))
    assert not _different(with_workers, own_workers)
    fastest = _train(
        cfg_for('fastest', 0, stream_workers=2, loading='fastest'))
    assert not _different(with_workers, fastest)
    assert sum('Training time per iteration' in message
               for message in messages) == 1
    # Stopped in the trial's iteration in the workers (from the checkpoint
    # of iteration 2, the resumed run tries both places again).
    cfg = cfg_for('resumed', 0, stream_workers=2, loading='fastest')
    _train(cfg, crash_after=4)
    cfg.resume = True
    assert not _different(with_workers, _train(cfg))
    # Without the hook's streams, the main process draws its own.
    assert _different(with_workers, _train(cfg_for('seeded', 0)))


@pytest.mark.slow
@pytest.mark.parametrize('workers', [None, 1],
                         ids=['config-workers', 'workers-flag-1'])
def test_iteration_run_resumes_without_a_fixed_seed(repo_root, synthvoc,
                                                    tmp_path, monkeypatch,
                                                    workers):
    """Without ``randomness.seed`` a resumed run takes the checkpoint's seed.
    A loader's own workers (and the sample indices they asked for) have
    drawn from mmengine's new seed by then, so the tools load an iteration
    loop through the hook's own loaders: the resumed run ends as an
    uninterrupted run with the checkpoint's seed (with the loader's 2
    workers, 106 of the weights differed)."""
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_WARMUP_ITERATIONS', 1)
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_ITERATIONS', 1)
    monkeypatch.setattr(ReproducibleResumeHook, 'TRIAL_LENGTHS_LEFT', 1)

    def cfg_for(name: str, seed=None) -> Config:
        cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / name), 2,
                        by_epoch=False, infinite=True)
        cfg.randomness = dict(seed=seed)
        # as tools/train.py does, with this process's threads
        apply_thread_plan(cfg, threads=torch.get_num_threads(),
                          workers=workers, keep_workers=True)
        assert cfg.train_dataloader.num_workers == 0
        return cfg

    cfg = cfg_for('resumed')
    _train(cfg, crash_after=4)
    checkpoint = safe_torch_load(osp.join(tmp_path, 'resumed', 'iter_2.pth'))
    cfg.resume = True
    resumed = _train(cfg)
    straight = _train(cfg_for('straight', checkpoint['meta']['seed']))
    assert not _different(straight, resumed)
