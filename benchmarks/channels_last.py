# Copyright (c) mmwsss contributors. All rights reserved.
"""Channels-last against NCHW for the models whose configs opt in.

For each stage of ``benchmarks/stages.py`` named in ``--stages`` (by
default every SynthVOC test stage whose config sets
``cpu_cfg.channels_last``, which ``tools/test.py`` applies, and the training
runs of the same models, which run as written: the figures say what
channels-last training would gain),
its model is built from the stage's config (random weights) with a real
batch of its own pipeline: a test stage times ``model.test_step`` on one
image, a training stage ``model.train_step`` (loss, backward, optimizer
step) on a batch of ``--train-batch``. Each round times the same step in
both layouts, alternated (the model converted in place between them, as
:class:`mmwsss.ChannelsLastHook` does), so a slow spell of the machine falls
on both; the median over rounds of each layout and their ratio are printed,
with the largest difference of the outputs (test stages: maps/labels
as the writers get them, training stages: the losses of the first step of
each layout from the same weights). Stages that read an upstream stage's
files (CAMs, IR labels, pseudo-masks) first run it once through
``benchmarks/stages.py``. The dataloaders, writers and metrics of the
stages are not timed: ``benchmarks/stages.py --memory-format`` gives whole
stages in either layout.

    python benchmarks/channels_last.py [--size voc] [--rounds 5]
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, List

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import stages  # noqa: E402

from mmwsss.testing import output_arrays  # noqa: E402
from mmwsss.utils.launch import build_runner  # noqa: E402

#: The SynthVOC test stages whose configs run channels-last on a CPU, and
#: the training of their models.
CHANNELS_LAST_STAGES = ('cam', 'moana', 'advcam', 'rib', 'ficklenet',
                        'gradcam', 'random_walk', 'instance_walk', 'deeplab',
                        'train_cam', 'train_moana', 'train_irnet',
                        'train_deeplab')


def max_difference(first, second) -> float:
    """Largest absolute difference between the arrays of two outputs,
    relative to the largest magnitude of each array."""
    worst = 0.0
    for (_, a), (_, b) in zip(output_arrays(first), output_arrays(second)):
        if a.size:
            a, b = a.astype(np.float64), b.astype(np.float64)
            worst = max(worst,
                        float(np.abs(a - b).max()) /
                        max(float(np.abs(a).max()), 1e-12))
    return worst


def time_layouts(model: torch.nn.Module, step: Callable, rounds: int,
                 calls: int) -> dict:
    """Median seconds per call of ``step`` in each layout, alternated."""
    layouts = dict(contiguous=torch.contiguous_format,
                   channels_last=torch.channels_last)
    times = {name: [] for name in layouts}
    first = {}
    for turn in range(rounds):
        for name, layout in layouts.items():
            model.to(memory_format=layout)
            torch.manual_seed(0)
            out = step()  # warm-up (oneDNN primitives, allocator)
            if turn == 0:
                first[name] = out
            start = time.perf_counter()
            for _ in range(calls):
                step()
            times[name].append((time.perf_counter() - start) / calls)
    medians = {name: statistics.median(t) for name, t in times.items()}
    return dict(
        contiguous_s=medians['contiguous'],
        channels_last_s=medians['channels_last'],
        speedup=medians['contiguous'] / medians['channels_last'],
        max_rel_diff=max_difference(first['contiguous'],
                                    first['channels_last']))


def benchmark_stage(name: str, fields: dict, args, folder: str) -> dict:
    stage = stages.STAGES[name]
    work_dir = osp.join(folder, f'{name}_ab')
    os.makedirs(work_dir)
    fields = dict(fields, out=osp.join(work_dir, 'out'))
    cfg = stages.stage_config(name, stage, fields, args, args.threads, 0,
                              work_dir)
    runner = build_runner(cfg)
    model = runner.model
    if stage.train:
        loader = Runner.build_dataloader(cfg.train_dataloader)
        batch = next(iter(loader))
        optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        model.train()

        def step():
            # every call from the same weights and a fresh optimizer state
            # (made in the layout of the gradients, as in a run): the same
            # work, and the first losses of both layouts comparable
            model.load_state_dict(initial)
            optim_wrapper.optimizer.state.clear()
            return model.train_step(batch, optim_wrapper)
    else:
        loader = Runner.build_dataloader(cfg.test_dataloader)
        batch = next(iter(loader))
        model.eval()

        def step():
            with torch.no_grad():
                return model.test_step(batch)

    with stage.context():
        result = time_layouts(model, step, args.rounds, args.calls)
    result['stage'] = name
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stages', nargs='+', choices=sorted(stages.STAGES),
                        default=CHANNELS_LAST_STAGES)
    parser.add_argument('--size', choices=('synthvoc', 'voc'),
                        default='synthvoc')
    parser.add_argument('--threads', type=int,
                        default=stages.available_cores())
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--calls', type=int, default=2,
                        help='timed calls per layout and round')
    parser.add_argument('--train-batch', type=int, default=16)
    own = parser.parse_args(argv)
    # the stage configs of benchmarks/stages.py at its --few-steps settings
    args = stages.parse_args([
        '--stages', *own.stages, '--sizes', own.size, '--few-steps',
        '--images', str(max(8, 2 * own.train_batch)), '--train-batch',
        str(own.train_batch), '--memory-format', 'contiguous'
    ])
    args.size, args.threads = own.size, own.threads
    args.rounds, args.calls = own.rounds, own.calls
    return args


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    results = []
    with tempfile.TemporaryDirectory() as folder:
        data = stages.make_data(folder, args.size, args.images)
        fields = dict(data=data, cams='', labels='', psa='', masks='')
        for name in stages.ordered(args.stages):
            if name in stages.OUTPUT_FIELDS and any(
                    need == name for other in args.stages
                    for need in stages.STAGES[other].needs):
                # the files a measured stage reads
                run = stages.run_setting(
                    name, stages.STAGES[name], fields, args, args.threads, 0,
                    osp.join(folder, f'{name}_files'))
                fields[stages.OUTPUT_FIELDS[name]] = run['out']
            if name not in args.stages:
                continue
            result = benchmark_stage(name, fields, args, folder)
            results.append(result)
            print(f'{name:18s} NCHW {result["contiguous_s"] * 1e3:8.1f} ms  '
                  f'channels-last {result["channels_last_s"] * 1e3:8.1f} ms  '
                  f'x{result["speedup"]:.2f}  max rel diff '
                  f'{result["max_rel_diff"]:.1e}', flush=True)
    print(f'({args.size} size, {args.threads} threads, medians of '
          f'{args.rounds} alternated rounds of {args.calls} calls; test '
          'stages one image, training stages a batch of '
          f'{args.train_batch})')
    return results


if __name__ == '__main__':
    if not ({'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ)):
        # OpenMP's waits as the tools set them
        os.environ.update(GOMP_SPINCOUNT='10000', KMP_BLOCKTIME='0')
        os.execv(sys.executable, [sys.executable, *sys.argv])
    main()
