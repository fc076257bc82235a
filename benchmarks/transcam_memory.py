# Copyright (c) mmwsss contributors. All rights reserved.
"""Peak memory of TransCAM attention: on-the-fly sum against a full stack.

A Conformer-S (:class:`mmwsss.AttnConformer`, random weights, 20 classes,
one ``--size`` x ``--size`` random image, 512 by default: N = 1025 tokens)
computes the TransCAM map two ways:

1. ``stack``: as the reference (``network/conformer_CAM.py``): every
   layer's full (B, heads, N, N) attention is kept
   (``forward_attention(keep_layers=True)``, which also fills the running
   sum below: one (B, N, N) map more), stacked to (L, B, heads, N, N) and
   reduced afterwards;
2. ``onthefly``: mmwsss: each layer's head mean is added to one (B, N, N)
   running sum (:class:`mmwsss.functional.AttentionAccumulator`), the
   per-layer weights are released as soon as autograd no longer needs them.

Two settings: ``infer`` (no gradients, the TransCAM inference forward) and
``bnr`` (a BNR training step: forward, TransCAM + BNR loss, backward; here
autograd keeps each layer's weights for the attention output itself, so
both strategies hold them and the saving is the stack and its reductions).
Every (strategy, setting) runs in a fresh subprocess; the figure is the
peak resident memory of the step minus the resident memory just before it
(model built, input ready), from Linux's ``VmHWM`` reset just before the
step: all CPU memory the step needed at its peak, not only the attention.
The maximum absolute difference of the two TransCAM maps is printed as a
check. Not a test::

    python benchmarks/transcam_memory.py [--size 512] [--threads 1]
    python benchmarks/transcam_memory.py --size 64 --tiny   # smoke run
"""
import argparse
import json
import subprocess
import sys

import torch
from peak_memory import PeakMemory


def _worker(args) -> dict:
    from mmwsss.functional import bnr_refine, transcam_cam, transcam_losses
    from mmwsss.registry import MODELS

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    arch = 'small' if not args.tiny else dict(
        embed_dims=32, depths=3, num_heads=2, channel_ratio=1)
    model = MODELS.build(
        dict(
            type='mmwsss.TransCAMClassifier',
            num_classes=20,
            bnr=True,
            backbone=dict(type='mmwsss.AttnConformer', arch=arch)))
    model.eval()
    backbone = model.backbone
    image = torch.randn(1, 3, args.size, args.size)
    labels = torch.zeros(1, 20)
    labels[0, :2] = 1
    training = args.setting == 'bnr'

    def run():
        if args.strategy == 'onthefly':
            feats = backbone.forward_attention(image)
            total, mean = feats['attention'].total, feats['attention'].mean
        else:
            feats = backbone.forward_attention(image, keep_layers=True)
            stack = torch.stack(feats['layers'])  # (L, B, heads, N, N)
            total = stack.mean(dim=2).sum(dim=0)
            mean = stack.mean(dim=2).mean(dim=0)
        conv_map = model.conv_head(feats['conv_map'])
        cams = transcam_cam(total, conv_map)
        if training:
            losses = transcam_losses(
                conv_map.mean(dim=(2, 3)),
                model.trans_head(feats['cls_token']), labels,
                bnr_refine(mean, cams).mean(dim=(2, 3)))
            sum(losses.values()).backward()
        return cams.detach()

    with PeakMemory() as peak, torch.set_grad_enabled(training):
        cams = run()
    return dict(
        peak_mib=peak.mib,
        tokens=int(cams.shape[2] * cams.shape[3] + 1),
        cams=cams.flatten()[:4096].tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=512)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument(
        '--tiny', action='store_true', help='tiny Conformer (smoke run)')
    parser.add_argument('--strategy', help=argparse.SUPPRESS)
    parser.add_argument('--setting', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.strategy:
        print(json.dumps(_worker(args)))
        return
    results = {}
    for setting in ('infer', 'bnr'):
        for strategy in ('stack', 'onthefly'):
            cmd = [
                sys.executable, __file__, '--size',
                str(args.size), '--threads',
                str(args.threads), '--strategy', strategy, '--setting', setting
            ] + (['--tiny'] if args.tiny else [])
            out = subprocess.run(
                cmd, check=True, capture_output=True, text=True).stdout
            results[setting,
                    strategy] = json.loads(out.strip().split('\n')[-1])
    tokens = results['infer', 'stack']['tokens']
    print(f'Conformer-{"tiny-test" if args.tiny else "S"}, '
          f'{args.size}x{args.size} input, N = {tokens} tokens, batch 1')
    for setting in ('infer', 'bnr'):
        stack = results[setting, 'stack']
        onthefly = results[setting, 'onthefly']
        diff = max(abs(a - b) for a, b in zip(stack['cams'], onthefly['cams']))
        print(f'{setting:5s}: peak extra memory stack '
              f'{stack["peak_mib"]:8.1f} MiB, on-the-fly '
              f'{onthefly["peak_mib"]:8.1f} MiB, ratio stack/on-the-fly '
              f'{stack["peak_mib"] / onthefly["peak_mib"]:.2f} '
              f'(max |CAM difference| {diff:.2e})')


if __name__ == '__main__':
    main()
