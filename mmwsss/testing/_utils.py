# Copyright (c) mmwsss contributors. All rights reserved.
"""Tiny, fast fixtures for end-to-end tests of the tools."""
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image

#: Root of the source checkout (the tools live in ``REPO_ROOT/tools``).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

_TINY_MMPRETRAIN_CONFIG = '''\
default_scope = 'mmpretrain'

model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes={num_classes},
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, stem_channels=8, base_channels=8,
        num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes={num_classes},
        in_channels=64,
        loss=dict(type='CrossEntropyLoss'),
        topk=(1, )))

pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
dataloader = dict(
    batch_size=2,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='CustomDataset', data_root={data_root!r}, pipeline=pipeline))
train_dataloader = dataloader
val_dataloader = dataloader
test_dataloader = dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
# An explicit `end`: a shorter first run of a resume test keeps the schedule.
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end={max_iters},
        milestones=[3],
        gamma=0.1)
]
train_cfg = dict(
    by_epoch=False, max_iters={max_iters}, val_interval={max_iters})
val_cfg = dict()
test_cfg = dict()

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=1),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
    visualization=dict(type='VisualizationHook', enable=False))
visualizer = dict(
    type='UniversalVisualizer', vis_backends=[dict(type='LocalVisBackend')])
log_processor = dict(by_epoch=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork'),
    dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0, deterministic=True)
'''


def make_tiny_cls_dataset(root: str,
                          num_classes: int = 2,
                          per_class: int = 4,
                          size: int = 32,
                          seed: int = 0) -> str:
    """Write random PNG images into one sub-folder per class.

    The layout is what mmpretrain's ``CustomDataset`` reads without an
    annotation file: ``root/class_<i>/<j>.png``.

    Args:
        root (str): Directory to create the dataset in.
        num_classes (int): Number of classes. Defaults to 2.
        per_class (int): Images per class. Defaults to 4.
        size (int): Height and width of the images. Defaults to 32.
        seed (int): Seed of the random pixels. Defaults to 0.

    Returns:
        str: ``root``.
    """
    rng = np.random.default_rng(seed)
    for label in range(num_classes):
        folder = osp.join(root, f'class_{label}')
        os.makedirs(folder, exist_ok=True)
        for index in range(per_class):
            # A class-dependent brightness makes the task learnable.
            pixels = rng.integers(0, 128, (size, size, 3)) + 64 * label
            Image.fromarray(pixels.astype(np.uint8)).save(
                osp.join(folder, f'{index}.png'))
    return root


def write_tiny_mmpretrain_config(path: str,
                                 data_root: str,
                                 num_classes: int = 2,
                                 max_iters: int = 4) -> str:
    """Write a fast, deterministic mmpretrain classification config.

    A ResNet-18 with 8 base channels trained by iteration with SGD (the
    learning rate drops at iteration 3), no shuffling, ``num_workers=0``, a
    checkpoint every 2 iterations and ``randomness=dict(seed=0,
    deterministic=True)``, so that runs are reproducible on CPU. Distributed
    runs use the gloo backend.

    Args:
        path (str): Where to write the config (``.py``).
        data_root (str): A dataset made by :func:`make_tiny_cls_dataset`.
        num_classes (int): Number of classes of the dataset. Defaults to 2.
        max_iters (int): Training iterations. Defaults to 4.

    Returns:
        str: ``path``.
    """
    with open(path, 'w') as file:
        file.write(
            _TINY_MMPRETRAIN_CONFIG.format(
                data_root=data_root,
                num_classes=num_classes,
                max_iters=max_iters))
    return path


def run_tool(command: Sequence[str],
             timeout: float = 120,
             env: Optional[dict] = None,
             program: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run a tool from the repository root.

    ``command`` starts with a path relative to the repository root (e.g.
    ``tools/train.py``) or with ``-m``. ``PYTHONPATH`` gets the repository
    root, as the launch scripts do, and ``PYTHON`` names the current
    interpreter for the ``tools/*.sh`` scripts.

    Args:
        command (Sequence[str]): Arguments after the program.
        timeout (float): Seconds before the run is killed. Defaults to 120.
        env (dict, optional): Extra environment variables. Defaults to None.
        program (str, optional): The program to run, e.g. ``'bash'``.
            Defaults to the current Python interpreter.

    Returns:
        subprocess.CompletedProcess: The finished run, with ``stdout`` and
        ``stderr`` captured as text.
    """
    run_env = dict(os.environ, PYTHON=sys.executable, **(env or {}))
    run_env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, run_env.get('PYTHONPATH')) if p)
    return subprocess.run([program or sys.executable, *command],
                          cwd=REPO_ROOT,
                          env=run_env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now, for a distributed run's
    rendezvous (fixed ports collide with other jobs on the machine)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def param_groups_by_name(model, optimizer) -> Dict[str, dict]:
    """The optimizer's parameter group (``lr``, ``weight_decay``...) of
    each named parameter of ``model`` it holds, to check the multipliers of
    a ``paramwise_cfg``.

    Args:
        model (nn.Module): The model.
        optimizer (torch.optim.Optimizer): Its optimizer.

    Returns:
        dict[str, dict]: Parameter name -> its group.
    """
    groups = {
        id(param): group
        for group in optimizer.param_groups for param in group['params']
    }
    return {
        name: groups[id(param)]
        for name, param in model.named_parameters() if id(param) in groups
    }
