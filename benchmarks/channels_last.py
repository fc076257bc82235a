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
import contextlib
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from functools import partial
from typing import Callable, ContextManager, Dict, Iterator, List, Tuple

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


def time_alternated(variants: Dict[str, Callable[[], ContextManager]],
                    step: Callable,
                    rounds: int,
                    calls: int,
                    keep: Callable = lambda out: out) -> Tuple[dict, dict]:
    """Median seconds per call of ``step`` in each variant (a context),
    the variants alternated in every round, and ``keep`` of each variant's
    first output."""
    times = {name: [] for name in variants}
    first = {}
    for turn in range(rounds):
        for name, variant in variants.items():
            with variant():
                torch.manual_seed(0)
                out = step()  # warm-up (oneDNN primitives, allocator)
                if turn == 0:
                    first[name] = keep(out)
                start = time.perf_counter()
                for _ in range(calls):
                    step()
                times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}, first


@contextlib.contextmanager
def _in_layout(model: torch.nn.Module, memory_format) -> Iterator[None]:
    # converted in place, as mmwsss.ChannelsLastHook does
    model.to(memory_format=memory_format)
    yield


def time_layouts(model: torch.nn.Module, step: Callable, rounds: int,
                 calls: int) -> dict:
    """Median seconds per call of ``step`` in each layout, alternated."""
    medians, first = time_alternated(
        dict(
            contiguous=partial(_in_layout, model, torch.contiguous_format),
            channels_last=partial(_in_layout, model, torch.channels_last)),
        step, rounds, calls)
    return dict(
        contiguous_s=medians['contiguous'],
        channels_last_s=medians['channels_last'],
        speedup=medians['contiguous'] / medians['channels_last'],
        max_rel_diff=max_difference(first['contiguous'],
                                    first['channels_last']))


def stage_step(name: str, fields: dict, args,
               folder: str) -> Tuple[torch.nn.Module, Callable]:
    """The model of a stage (random weights) and one step of it on a real
    batch: a test step on one image, or a training step (loss, backward,
    optimizer step) that starts from the same weights at every call."""
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
            # work, and the outputs of the variants compared comparable
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

    return model, step


def measured_stages(args, folder: str) -> Iterator[Tuple[str, dict]]:
    """``(stage, fields)`` for each stage of ``args.stages`` in pipeline
    order, on a SynthVOC of ``args.size`` made in ``folder``; the files a
    stage reads (CAMs, IR labels, pseudo-masks) are made first by running
    its upstream stages once through ``benchmarks/stages.py``."""
    data = stages.make_data(folder, args.size, args.images)
    fields = dict(data=data, cams='', labels='', psa='', masks='')
    order = stages.ordered(args.stages)
    for name in order:
        if name in stages.OUTPUT_FIELDS and any(
                name in stages.STAGES[other].needs for other in order):
            run = stages.run_setting(name, stages.STAGES[name], fields, args,
                                     args.threads, 0,
                                     osp.join(folder, f'{name}_files'))
            fields[stages.OUTPUT_FIELDS[name]] = run['out']
        if name in args.stages:
            yield name, fields


def stage_steps(args) -> Iterator[Tuple[str, torch.nn.Module, Callable]]:
    """``(stage, model, step)`` of :func:`stage_step` for each stage of
    ``args.stages`` (``args.threads`` torch threads, mmengine's log quiet,
    files in a temporary folder), each inside its stage's context."""
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmengine').setLevel('WARNING')
    with tempfile.TemporaryDirectory() as folder:
        for name, fields in measured_stages(args, folder):
            model, step = stage_step(name, fields, args, folder)
            with stages.STAGES[name].context():
                yield name, model, step


def step_parser(description: str, choices, default) -> argparse.ArgumentParser:
    """The options of the step benchmarks (this one and
    ``benchmarks/pair_gathers.py``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--stages', nargs='+', choices=choices,
                        default=default)
    parser.add_argument('--size', choices=('synthvoc', 'voc'),
                        default='synthvoc')
    parser.add_argument('--threads', type=int,
                        default=stages.available_cores())
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--calls', type=int, default=2,
                        help='timed calls per variant and round')
    parser.add_argument('--train-batch', type=int, default=16)
    return parser


def step_args(own: argparse.Namespace, *extra: str) -> argparse.Namespace:
    """The stage configs of ``benchmarks/stages.py`` at its --few-steps
    settings for the parsed :func:`step_parser` options, with ``extra``
    arguments of it."""
    args = stages.parse_args([
        '--stages', *own.stages, '--sizes', own.size, '--few-steps',
        '--images', str(max(8, 2 * own.train_batch)), '--train-batch',
        str(own.train_batch), *extra
    ])
    args.size, args.threads = own.size, own.threads
    args.rounds, args.calls = own.rounds, own.calls
    return args


def parse_args(argv=None):
    own = step_parser(__doc__.split('\n')[0], sorted(stages.STAGES),
                      CHANNELS_LAST_STAGES).parse_args(argv)
    return step_args(own, '--memory-format', 'contiguous')


def step_footer(args) -> str:
    """The settings line under a step benchmark's results."""
    return (f'({args.size} size, {args.threads} threads, medians of '
            f'{args.rounds} alternated rounds of {args.calls} calls; test '
            'stages one image, training stages a batch of '
            f'{args.train_batch})')


def run_with_short_spin(main: Callable) -> None:
    """Run ``main`` with OpenMP's waits as the tools set them (restarting
    the interpreter, since libgomp reads them when torch loads)."""
    if not ({'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ)):
        os.environ.update(GOMP_SPINCOUNT='10000', KMP_BLOCKTIME='0')
        os.execv(sys.executable, [sys.executable, *sys.argv])
    main()


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    results = []
    for name, model, step in stage_steps(args):
        result = dict(
            time_layouts(model, step, args.rounds, args.calls), stage=name)
        results.append(result)
        print(f'{name:18s} NCHW {result["contiguous_s"] * 1e3:8.1f} ms  '
              f'channels-last {result["channels_last_s"] * 1e3:8.1f} ms  '
              f'x{result["speedup"]:.2f}  max rel diff '
              f'{result["max_rel_diff"]:.1e}', flush=True)
    print(step_footer(args))
    return results


if __name__ == '__main__':
    run_with_short_spin(main)
