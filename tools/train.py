# Copyright (c) mmwsss contributors. All rights reserved.
"""Train a model from an mmpretrain, mmseg, mmdet or mmwsss config.

The config's ``default_scope`` selects the host codebase; this tool leaves it
untouched. Importing :mod:`mmwsss` registers all mmwsss components and
installs the weights-only checkpoint loader (see
:mod:`mmwsss.utils.checkpoint`).
"""
import os

# Before torch loads OpenMP, which reads them once: a waiting OpenMP thread
# spins only briefly, then sleeps, so that a process whose threads meet busy
# cores (other ranks, workers, other jobs) does not slow down many times
# (mmwsss.utils.threads).
if 'OMP_WAIT_POLICY' not in os.environ:
    os.environ.setdefault('GOMP_SPINCOUNT', '10000')  # GNU OpenMP (pip torch)
    os.environ.setdefault('KMP_BLOCKTIME', '0')  # Intel / LLVM OpenMP

import argparse  # noqa: E402
import logging  # noqa: E402

from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402

import mmwsss  # noqa: E402,F401
from mmwsss.engine.hooks import add_plain_checkpoint_hook  # noqa: E402
from mmwsss.utils.launch import (  # noqa: E402
    add_common_args, build_runner, load_config, shutdown_distributed)
from mmwsss.utils.threads import apply_thread_plan  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from '
        'the latest checkpoint in the work directory')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual batch size (needs '
        '`auto_scale_lr.base_batch_size` in the config)')
    add_common_args(parser)
    return parser.parse_args()


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to ``AmpOptimWrapper``.

    Args:
        cfg (Config): The config, modified in place.

    Raises:
        ValueError: If the config uses a custom optimizer wrapper that cannot
            simply be swapped.
    """
    wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper_type == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in the config.',
            logger='current',
            level=logging.WARNING)
        return
    if wrapper_type != 'OptimWrapper':
        raise ValueError('--amp only replaces `OptimWrapper`, but the config '
                         f'uses optim_wrapper.type={wrapper_type!r}.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Turn on ``auto_scale_lr`` of the config.

    Args:
        cfg (Config): The config, modified in place.

    Raises:
        RuntimeError: If the config has no usable ``auto_scale_lr`` entry.
    """
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not auto_scale_lr or 'base_batch_size' not in auto_scale_lr:
        raise RuntimeError(
            '--auto-scale-lr needs `auto_scale_lr = dict(enable=False, '
            'base_batch_size=...)` in the config.')
    cfg.auto_scale_lr.enable = True


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the training options of the command line to the config.

    Args:
        cfg (Config): The config from :func:`load_config`.
        args (argparse.Namespace): The parsed command line.

    Returns:
        Config: The updated config.
    """
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)

    # A bare --resume lets the runner pick the latest checkpoint of work_dir.
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    # Keeps the saved checkpoints loadable with torch.load(weights_only=True).
    add_plain_checkpoint_hook(cfg)
    return cfg


def main() -> None:
    """Entry point."""
    args = parse_args()
    cfg = merge_args(load_config(args), args)
    apply_thread_plan(
        cfg, args.threads, args.workers, args.crf_workers,
        keep_workers=True)
    runner = build_runner(cfg)
    runner.train()
    shutdown_distributed(runner)


if __name__ == '__main__':
    main()
