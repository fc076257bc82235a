# Copyright (c) mmwsss contributors. All rights reserved.
"""Pixel-pair gathers as gathers against indexing, at equal outputs.

IRNet's losses (boundary affinities along the paths, pair displacements,
pair labels) and AffinityNet's pair affinities take the values of every
pixel pair from flattened maps. On a CPU they gather
(:func:`mmwsss.models.irn.path_index.take_last`); the baseline is the
advanced indexing used before, whose gradient is a serial accumulating
``index_put_`` there. For each stage of ``--stages`` (the stages of
``benchmarks/stages.py``, default: the IRNet and AffinityNet training and
the random walk), its model (random weights) runs one step on a real batch
of its pipeline (``benchmarks/channels_last.py``'s steps: a training step
from the same weights at every call, or a test step on one image), both
ways alternated in each round; the medians, their ratio and whether the
outputs are bit-identical (training: the weights after the step, so the
gradients; test: the maps) are printed.

    python benchmarks/pair_gathers.py [--size voc] [--rounds 5]
"""
import contextlib
import json
import os.path as osp
import sys
from typing import Callable, Dict, Iterator, List, Tuple
from unittest import mock

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import channels_last  # noqa: E402

from mmwsss.models.irn import irnet, path_index  # noqa: E402
from mmwsss.models.psa import functional as psa_functional  # noqa: E402
from mmwsss.testing import output_arrays  # noqa: E402

PAIR_STAGES = ('train_irnet', 'train_affinitynet', 'random_walk')


@contextlib.contextmanager
def indexing_gathers() -> Iterator[None]:
    """The baseline: every pair gather as ``values[..., index]``."""

    def indexing(values, index):
        return values[..., index]

    with contextlib.ExitStack() as stack:
        for module in (path_index, irnet, psa_functional):
            stack.enter_context(mock.patch.object(module, 'take_last',
                                                  indexing))
        yield


def snapshot(model: torch.nn.Module, output) -> Tuple[List, List]:
    """What must be equal both ways: the arrays of the output and the
    model's weights (after a training step: its gradients' result)."""
    return ([array for _, array in output_arrays(output)],
            [v.detach().clone() for v in model.state_dict().values()])


def identical(first: Tuple[List, List], second: Tuple[List, List]) -> bool:
    """Whether two snapshots are equal bit for bit."""
    (arrays, weights), (other_arrays, other_weights) = first, second
    return (len(arrays) == len(other_arrays)
            and all(np.array_equal(a, b) for a, b in zip(arrays, other_arrays))
            and all(torch.equal(a, b) for a, b in zip(weights, other_weights)))


def time_gathers(model: torch.nn.Module, step: Callable, rounds: int,
                 calls: int) -> Dict:
    """Median seconds per call of ``step`` with gathers and with indexing,
    alternated, and whether their first outputs are bit-identical."""
    medians, first = channels_last.time_alternated(
        dict(gather=contextlib.nullcontext, indexing=indexing_gathers),
        step,
        rounds,
        calls,
        keep=lambda out: snapshot(model, out))
    return dict(
        gather_s=medians['gather'],
        indexing_s=medians['indexing'],
        speedup=medians['indexing'] / medians['gather'],
        identical=identical(first['gather'], first['indexing']))


def parse_args(argv=None):
    parser = channels_last.step_parser(__doc__.split('\n')[0], PAIR_STAGES,
                                       PAIR_STAGES)
    parser.add_argument('--out', help='json file of the results')
    own = parser.parse_args(argv)
    # the stage configs as tools/test.py runs them
    args = channels_last.step_args(own)
    args.out = own.out
    return args


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    results = []
    for name, model, step in channels_last.stage_steps(args):
        result = dict(
            time_gathers(model, step, args.rounds, args.calls), stage=name)
        results.append(result)
        print(f'{name:18s} indexing {result["indexing_s"] * 1e3:8.1f} ms  '
              f'gather {result["gather_s"] * 1e3:8.1f} ms  '
              f'x{result["speedup"]:.2f}  bit-identical '
              f'{result["identical"]}', flush=True)
    print(channels_last.step_footer(args))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(size=args.size, threads=args.threads,
                           stages=results), f, indent=2)
    return results


if __name__ == '__main__':
    channels_last.run_with_short_spin(main)
