# Copyright (c) mmwsss contributors. All rights reserved.
"""A training run stopped at a random iteration and resumed ends with the
weights of an uninterrupted run (mmwsss.ReproducibleResumeHook), with the
random augmentations of the SynthVOC CAM config."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from mmwsss.engine.hooks import add_plain_checkpoint_hook
from mmwsss.utils.launch import build_runner

CONFIG = 'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'
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


def _tiny_cfg(repo_root: str, synthvoc: str, work_dir: str,
              num_workers: int) -> Config:
    cfg = Config.fromfile(osp.join(repo_root, CONFIG))
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    loader = cfg.train_dataloader
    loader.update(
        batch_size=2,
        num_workers=num_workers,
        persistent_workers=num_workers > 0)
    loader.dataset.data_root = synthvoc
    for step in loader.dataset.pipeline:
        if step['type'] == 'mmwsss.RandomLongSideResize':
            step['long_side_range'] = (40, 80)
        if step['type'] == 'mmwsss.RandomCropPad':
            step['crop_size'] = 48
    # Validation between epochs draws from the main process's generators.
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.data_root = synthvoc
    cfg.train_cfg.update(max_epochs=MAX_EPOCHS, val_interval=1)
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
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
@pytest.mark.parametrize('num_workers', [0, 2])
def test_resume_reproduces_an_uninterrupted_run(repo_root, synthvoc, tmp_path,
                                                num_workers):
    straight = _train(
        _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'straight'),
                  num_workers))
    # A random iteration after the first checkpoint (epoch 1).
    crash_after = int(
        np.random.default_rng(num_workers).integers(
            ITERS_PER_EPOCH + 1, MAX_EPOCHS * ITERS_PER_EPOCH))
    cfg = _tiny_cfg(repo_root, synthvoc, str(tmp_path / 'resumed'),
                    num_workers)
    _train(cfg, crash_after=crash_after)
    cfg.resume = True
    resumed = _train(cfg)

    assert resumed.keys() == straight.keys()
    different = [
        name for name, value in straight.items()
        if not torch.equal(value, resumed[name])
    ]
    assert not different, different
