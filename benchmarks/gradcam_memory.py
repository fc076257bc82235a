# Copyright (c) mmwsss contributors. All rights reserved.
"""Peak memory and time of GradCAMClassifier: copies per class against
one forward per image.

The classifier of ``configs/gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py``
(half-width ResNet-18, output stride 16, random weights, 20 classes) makes
the multi-scale + flip Grad-CAM maps (scales 1.0, 0.5, 1.5, 2.0) of one
random ``--size`` x ``--size`` image for ``--classes`` ground-truth classes:

1. ``copies``: the former layout: per scale, one batch of 2K images (the
   image K times, its flip K times), each with its class, and autograd
   recording the whole model (the former code made the input require
   gradients; here the parameters stay trainable to the same effect);
2. ``default``: ``GradCAMClassifier.predict`` (``max_batch=16``): one
   forward of the image and its flip per scale, one backward per class from
   its logit to the target layer, autograd recording the model from the
   target layer on only (frozen parameters);
3. ``max_batch=1``: the same, the image and its flip in separate forwards;
4. ``baseline-src`` (with ``--baseline-src DIR``): ``predict`` of the
   mmwsss sources in DIR (e.g. an older checkout), first on the path.

Every strategy runs in a fresh subprocess; the figures are the peak
resident memory of the call minus the resident memory just before it
(model built, inputs ready), from Linux's ``VmHWM`` reset just before the
call, and its wall time; the ratios are against ``copies``. The maximum
absolute difference of the CAMs to those of ``copies`` is printed as a
check. Not a test::

    python benchmarks/gradcam_memory.py [--classes 8] [--size 224]
    python benchmarks/gradcam_memory.py --size 64 --classes 2  # smoke run
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

import torch
from peak_memory import PeakMemory

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'gradcam',
                  'gradcam_cam-r18w32-os16_synthvoc-112.py')
SCALES = (1.0, 0.5, 1.5, 2.0)
STRATEGIES = ('copies', 'default', 'max_batch=1')


def _worker(args) -> dict:
    import torch.nn.functional as F
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    from mmwsss.models.utils.cam import merge_multiscale_cams
    from mmwsss.registry import MODELS

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = Config.fromfile(CONFIG).model
    cfg.method = args.method
    cfg.head.num_classes = cfg.data_preprocessor.num_classes = 20
    if args.strategy == 'max_batch=1':
        cfg.max_batch = 1
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg).eval()
    image = torch.randn(3, args.size, args.size)
    scales = [
        F.interpolate(image[None], scale_factor=s, mode='bilinear')[0]
        if s != 1.0 else image for s in SCALES
    ]
    hw = (args.size, args.size)
    sample = DataSample(metainfo=dict(ori_shape=hw, cam_scales=SCALES))
    sample.set_gt_label(list(range(args.classes)))

    def copies():
        from mmwsss.models.gradcam import (build_gradcam, raw_gradcam_maps,
                                           release_gradcam)
        cam = build_gradcam(model, args.method, [model.target_layer])
        cam.activations_and_grads.release()
        keys = torch.arange(args.classes)
        try:
            raw = []
            for img in scales:
                batch = torch.stack([img] * args.classes +
                                    [img.flip(-1)] * args.classes)
                maps = raw_gradcam_maps(cam, batch, keys.repeat(2))
                raw.append(maps.view(2, args.classes, *maps.shape[1:]))
        finally:
            release_gradcam(cam)
        return merge_multiscale_cams(raw, hw)[1]

    with PeakMemory() as peak, torch.no_grad():
        start = time.perf_counter()
        if args.strategy == 'copies':
            cams = copies()
        else:
            cams = model.predict([scales], [sample])[0].cam_high_res
        seconds = time.perf_counter() - start
    return dict(
        peak_mib=peak.mib,
        seconds=seconds,
        cams=cams.flatten()[::97].tolist())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--classes', type=int, default=8)
    parser.add_argument('--method', default='gradcam')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument(
        '--baseline-src',
        help='also time predict() of the mmwsss sources in this directory')
    parser.add_argument('--strategy', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.strategy:
        print(json.dumps(_worker(args)))
        return
    runs = [(name, ROOT) for name in STRATEGIES]
    if args.baseline_src:
        runs.append(('baseline-src', osp.abspath(args.baseline_src)))
    results = {}
    for name, src in runs:
        cmd = [
            sys.executable, __file__, '--size',
            str(args.size), '--classes',
            str(args.classes), '--method', args.method, '--threads',
            str(args.threads), '--strategy',
            'default' if name == 'baseline-src' else name
        ]
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
        env['PYTHONPATH'] = os.pathsep.join(
            [src] + [p for p in [env.get('PYTHONPATH')] if p])
        out = subprocess.run(
            cmd, check=True, capture_output=True, text=True, env=env).stdout
        results[name] = json.loads(out.strip().split('\n')[-1])
    print(f'{args.method}, half-width ResNet-18 (os16), {args.size}x'
          f'{args.size} image, scales {SCALES} + flips, {args.classes} '
          f'classes, {args.threads} thread(s)')
    base = results['copies']
    for name, _ in runs:
        res = results[name]
        diff = max(abs(a - b) for a, b in zip(res['cams'], base['cams']))
        memory = res['peak_mib'] / base['peak_mib']
        speed = res['seconds'] / base['seconds']
        print(f'{name:13s}: peak extra memory {res["peak_mib"]:8.1f} MiB '
              f'(x{memory:.2f}), {res["seconds"]:6.2f} s (x{speed:.2f}), '
              f'max |CAM difference| {diff:.1e}')


if __name__ == '__main__':
    main()
