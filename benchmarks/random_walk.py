# Copyright (c) mmwsss contributors. All rights reserved.
"""Sparse vs dense IRNet random walk: time, peak memory and agreement.

The sparse walk runs in float64 (the default) and in float32 (the
``dtype`` option); the float32 row gives its time and peak memory relative
to the float64 one and how far apart the two maps are.

The dense baseline is the reference algorithm (jiwoon-ahn/irn,
``propagate_to_edge``): the column-normalised float32 transition matrix of
all h*w pixels is formed densely, squared ``exp_times`` times and multiplied
with the CAMs. It is built directly on the real pixels from the same sparse
entries, so it is a little cheaper than the reference, which densifies the
matrix of the padded grid before cropping it. ``mmwsss`` applies the same
operator as ``2**exp_times`` sparse products (:func:`random_walk`).

Peak memory is the high-water mark of the process resident set size (RSS),
sampled every 0.2 ms from ``/proc/self/statm`` by a background thread while
each method runs, minus the RSS just before it (Linux only). Torch kernels
release the GIL, so sampling continues during them. The two methods run in
one process, sparse first (float64, then float32); inputs are built and
all methods warmed up before measuring.

Usage::

    python benchmarks/random_walk.py                      # VOC 375x500
    python benchmarks/random_walk.py --image-size 188 250 --threads 1
"""
import argparse
import os
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mmwsss.functional import random_walk, transition_matrix  # noqa: E402

_PAGE = os.sysconf('SC_PAGE_SIZE')


def _rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * _PAGE


class PeakRSS:
    """Context manager sampling the RSS high-water mark above its start.

    Args:
        interval (float): Sampling period in seconds. Defaults to 2e-4.
    """

    def __init__(self, interval: float = 2e-4) -> None:
        self.interval = interval
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss() - self.start)
            time.sleep(self.interval)

    def __enter__(self) -> 'PeakRSS':
        self.start = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss() - self.start)


def dense_random_walk(cams: torch.Tensor, edge: torch.Tensor, beta: float,
                      exp_times: int, radius: int) -> torch.Tensor:
    """The reference algorithm: dense float32 matrix, repeated squaring.

    Args:
        cams (torch.Tensor): (C, h, w) CAMs.
        edge (torch.Tensor): (h, w) boundary probabilities.
        beta (float): Affinity exponent.
        exp_times (int): Number of squarings.
        radius (int): Neighbourhood radius.

    Returns:
        torch.Tensor: (C, h, w) propagated maps.
    """
    num_pixels = edge.numel()
    # Same entries as the sparse operator; the dense T is its transpose
    # (column-normalised) and lives in float32 like the reference's.
    sparse = transition_matrix(edge, beta, radius)
    rows = torch.repeat_interleave(
        torch.arange(num_pixels),
        sparse.crow_indices().diff())
    trans = torch.zeros(num_pixels, num_pixels)
    trans[sparse.col_indices(), rows] = sparse.values().float()
    del sparse, rows
    for _ in range(exp_times):
        trans = trans @ trans
    x = (cams * (1 - edge)).reshape(cams.shape[0], -1)
    return (x @ trans).reshape(cams.shape)


def main() -> None:
    """Parse the command line, run both walks and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--image-size',
        type=int,
        nargs=2,
        default=(375, 500),
        metavar=('H', 'W'),
        help='original image size; the walk runs on the stride-4 grid')
    parser.add_argument('--classes', type=int, default=3)
    parser.add_argument('--beta', type=float, default=10)
    parser.add_argument('--exp-times', type=int, default=8)
    parser.add_argument('--radius', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument(
        '--skip-dense', action='store_true', help='time the sparse walk only')
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    height, width = ((s - 1) // 4 + 1 for s in args.image_size)
    gen = torch.Generator().manual_seed(0)
    # Smooth-ish CAMs and sparse boundaries; the cost does not depend on the
    # values.
    cams = torch.nn.functional.interpolate(
        torch.rand(
            1, args.classes, height // 8 + 1, width // 8 + 1, generator=gen),
        (height, width),
        mode='bilinear')[0]
    edge = torch.rand(height, width, generator=gen)**4
    walk = dict(beta=args.beta, exp_times=args.exp_times, radius=args.radius)
    # Warm-up: lazy library initialisation and first-touch of code pages
    # would otherwise count as memory; the sparse walk is warmed up at full
    # size (steady state of a pipeline), the dense one on a small crop.
    random_walk(cams, edge, **walk)
    random_walk(cams, edge, dtype=torch.float32, **walk)
    dense_random_walk(cams[:, :16, :16], edge[:16, :16], **walk)

    print(f'grid {height}x{width} ({height * width} pixels), '
          f'{args.classes} classes, {2**args.exp_times} steps, '
          f'{torch.get_num_threads()} torch threads')
    with PeakRSS() as mem_sparse:
        start = time.perf_counter()
        sparse_out = random_walk(cams, edge, dtype=torch.float64, **walk)
        time_sparse = time.perf_counter() - start
    print(f'sparse: {time_sparse:8.3f} s, peak {mem_sparse.peak / 2**20:9.1f}'
          ' MiB (float64)')
    with PeakRSS() as mem_single:
        start = time.perf_counter()
        single_out = random_walk(cams, edge, dtype=torch.float32, **walk)
        time_single = time.perf_counter() - start
    diff = (single_out - sparse_out).abs().max().item()
    print(f'sparse: {time_single:8.3f} s, peak {mem_single.peak / 2**20:9.1f}'
          f' MiB (float32): speed-up x{time_sparse / time_single:.2f}, '
          f'memory ratio x{mem_sparse.peak / max(mem_single.peak, 1):.2f}, '
          f'max abs diff {diff:.3g} '
          f'({diff / sparse_out.abs().max().item():.3g} of max)')
    if args.skip_dense:
        return

    with PeakRSS() as mem_dense:
        start = time.perf_counter()
        dense_out = dense_random_walk(cams, edge, **walk)
        time_dense = time.perf_counter() - start
    print(f'dense:  {time_dense:8.3f} s, peak {mem_dense.peak / 2**20:9.1f}'
          ' MiB')
    diff = (sparse_out - dense_out).abs().max().item()
    print(f'speed-up x{time_dense / time_sparse:.1f}, memory ratio '
          f'x{mem_dense.peak / max(mem_sparse.peak, 1):.1f}, max abs diff '
          f'{diff:.3g} ({diff / dense_out.abs().max().item():.3g} of max)')


if __name__ == '__main__':
    main()
