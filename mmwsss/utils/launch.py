# Copyright (c) mmwsss contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` share."""
import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher`` and
    ``--local-rank`` to a tool's parser."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. key=value or '
        'key="[a,b]"; nested keys are dotted, no spaces inside a value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank, older versions
    # --local_rank; torchrun sets LOCAL_RANK itself.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply the common arguments.

    Work-dir priority: command line > config > ``./work_dirs/<config stem>``.

    Args:
        args (argparse.Namespace): Parsed arguments with ``config``,
            ``work_dir``, ``cfg_options``, ``launcher`` and ``local_rank``.

    Returns:
        Config: The config.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def init_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on machines without CUDA (gloo).

    mmengine 0.10.7 pins a CUDA device while initialising the process group
    and passes ``device_ids`` to DDP, which refuses them for CPU modules.
    Without CUDA the group is initialised here (the runner then skips its
    own initialisation) and a DDP wrapper without ``device_ids`` is set.

    Args:
        cfg (Config): The config, modified in place.
    """
    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(
            'No CUDA device: using the gloo backend.',
            logger='current',
            level=logging.WARNING)
    dist_cfg['backend'] = 'gloo'
    torch.distributed.init_process_group(**dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if str(wrapper['type']).split('.')[-1] == 'MMDistributedDataParallel':
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


def build_runner(cfg: Config) -> Runner:
    """Set up CPU distribution if needed and build the runner
    (``RUNNERS.build`` when the config sets ``runner_type``)."""
    init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def shutdown_distributed() -> None:
    """Destroy the default process group, if any, before the tool exits.

    A gloo process that exits with its group alive can abort in the C++
    teardown ("terminate called without an active exception") after all
    its work is done, which ``torch.distributed.run`` reports as a failed
    job.
    """
    if torch.distributed.is_available() and \
            torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
