# Copyright (c) mmwsss contributors. All rights reserved.
"""Peak memory and time of FickleNet inference: all draws at once vs batched.

A :class:`mmwsss.FickleNetClassifier` with the VOC config's network (an
mmpretrain ResNet-50 at output stride 16, random weights, a 3x3 FickleNet
head with dropout 0.9, 20 classes, 3 of them the image's labels) computes
the CAMs of one random ``--size`` image at ``--scales`` with ``--draws``
draws in one chunk, two ways:

1. ``old``: as before the draws were batched: the head masks the expanded
   feature map of all draws of a chunk at once (one masked copy per draw)
   and every draw's merged maps are stacked before the per-pixel max;
2. ``batched``: mmwsss: the head takes ``--draws-per-batch`` draws at a time
   and the draws are folded into a running max.

Each (path, draws per batch) runs in a fresh subprocess (torch's CPU
allocations are invisible to tracemalloc); the figure is the peak resident
memory of the inference minus the resident memory just before it (model
built, inputs ready), from Linux's ``VmHWM`` reset just before it, and the
wall time of the inference. The maps of every run are hashed: the batched
runs must be bit-identical to the old one. Not a test::

    python benchmarks/ficklenet.py [--size 384 512] [--scales 1.0] \\
        [--draws 16] [--draws-per-batch 1 4] [--threads 1]
    python benchmarks/ficklenet.py --tiny        # smoke run
"""
import argparse
import hashlib
import json
import subprocess
import sys
import time

import torch
from peak_memory import PeakMemory


def _old_style_cams(model, scales, sample):
    """The FickleNet CAMs as computed before: all draws of a chunk through
    the masked convolution at once, merged draws stacked, then aggregated."""
    from mmwsss.functional import aggregate_cam_draws, merge_multiscale_cams
    keys = sample.gt_label.long().flatten()
    feats = [
        model.extract_feat(torch.stack([img, img.flip(-1)]))
        for img in scales
    ]
    generator = model._generator(sample, scales[0].device)
    model.head.draws_per_batch = model.draw_chunk
    strided, high_res = [], []
    for start in range(0, model.num_draws, model.draw_chunk):
        n = min(model.draw_chunk, model.num_draws - start)
        raw = [
            model.head.forward_cams(
                feat, generator=generator, num_draws=n).unflatten(0, (n, 2))
            for feat in feats
        ]
        for d in range(n):
            s, h = merge_multiscale_cams([r[d] for r in raw],
                                         tuple(sample.ori_shape), keys)
            strided.append(s)
            high_res.append(h)
    return (aggregate_cam_draws(torch.stack(strided)),
            aggregate_cam_draws(torch.stack(high_res)))


def _worker(args) -> dict:
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    from mmwsss.models.utils.cam import scaled_size, strided_size
    from mmwsss.registry import MODELS
    from mmwsss.utils import to_numpy

    torch.set_num_threads(args.threads)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    depth, width = (18, 8) if args.tiny else (50, 64)
    channels = width * 8 * (4 if depth == 50 else 1)
    model = MODELS.build(
        dict(
            type='mmwsss.FickleNetClassifier',
            num_draws=args.draws,
            draw_chunk=args.draws,
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=depth,
                base_channels=width,
                strides=(1, 2, 2, 1),
                out_indices=(3, )),
            head=dict(
                type='mmwsss.FickleNetCAMHead',
                num_classes=20,
                in_channels=channels,
                drop_prob=0.9,
                draws_per_batch=args.per_batch or args.draws))).eval()
    size = tuple(args.size)
    scales = [
        torch.randn(3, *scaled_size(size, factor)) for factor in args.scales
    ]
    sample = DataSample().set_gt_label([3, 7, 12])
    sample.set_metainfo(dict(ori_shape=size, img_id='benchmark'))

    with PeakMemory() as peak, torch.no_grad():
        start = time.perf_counter()
        if args.path == 'old':
            strided, high_res = _old_style_cams(model, scales, sample)
        else:
            _, _, strided, high_res = model.draw_cams(scales, sample)
        seconds = time.perf_counter() - start
    digest = hashlib.sha256(
        to_numpy(strided).tobytes() + to_numpy(high_res).tobytes()).hexdigest()
    return dict(
        peak_mib=peak.mib,
        seconds=seconds,
        digest=digest,
        feat_hw=strided_size(scales[-1].shape[-2:], 16))


def _run(args, path, per_batch=None) -> dict:
    cmd = [sys.executable, __file__, '--path', path, '--threads',
           str(args.threads), '--draws', str(args.draws), '--size'] + \
        [str(s) for s in args.size] + ['--scales'] + \
        [str(s) for s in args.scales] + (['--tiny'] if args.tiny else [])
    if per_batch is not None:
        cmd += ['--per-batch', str(per_batch)]
    out = subprocess.run(
        cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().split('\n')[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, nargs=2, default=[384, 512])
    parser.add_argument('--scales', type=float, nargs='+', default=[1.0])
    parser.add_argument('--draws', type=int, default=16)
    parser.add_argument(
        '--draws-per-batch', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument(
        '--tiny', action='store_true', help='tiny ResNet-18 (smoke run)')
    parser.add_argument('--path', help=argparse.SUPPRESS)
    parser.add_argument('--per-batch', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.path:
        print(json.dumps(_worker(args)))
        return
    old = _run(args, 'old')
    print(f'{"ResNet-18/8 (tiny)" if args.tiny else "ResNet-50"} OS16, '
          f'{args.size[0]}x{args.size[1]} image, scales {args.scales} '
          f'(last scale: features {old["feat_hw"][0]}x{old["feat_hw"][1]}), '
          f'image + flip, {args.draws} draws in one chunk, '
          f'{args.threads} thread(s)')
    print(f'old (all {args.draws} draws at once): peak extra memory '
          f'{old["peak_mib"]:8.1f} MiB, {old["seconds"]:6.2f} s')
    for per_batch in args.draws_per_batch:
        new = _run(args, 'batched', per_batch)
        same = 'bit-identical' if new['digest'] == old['digest'] else \
            'DIFFERENT maps'
        print(f'batched, draws_per_batch={per_batch:<3d}: peak extra memory '
              f'{new["peak_mib"]:8.1f} MiB, {new["seconds"]:6.2f} s; '
              f'memory old/batched {old["peak_mib"] / new["peak_mib"]:.2f}, '
              f'time old/batched {old["seconds"] / new["seconds"]:.2f} '
              f'({same})')


if __name__ == '__main__':
    main()
