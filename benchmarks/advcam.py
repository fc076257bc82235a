# Copyright (c) mmwsss contributors. All rights reserved.
"""Cost of mmwsss' AdvCAM against the official code's loop structure.

One image (coco128 ``000000000136.jpg`` resized to ``--size``, 512x384 by
default; random pixels if coco128 is absent), the IRN ResNet-50 CAM
classifier of ``configs/_base_/models/cam_r50-os16.py`` (random weights, 20
classes) and ``--classes`` target classes (those with the highest scores,
so that their CAMs are not empty). The same adversarial climbing runs twice
in one process:

1. ``reference``: the structure of ``obtain_CAM_masking.py`` + ``gradCAM.py``:
   scale after scale (0.5 first), class after class, per step one forward
   of the image + flip pair with hooks on the Grad-CAM layer (the
   classifier input), a first full backward of ``sum ReLU(CAM_c)`` for the
   Grad-CAM weights and a second full backward of the objective for the
   image gradient, including the last step whose result is never used. As
   in the reference, the network's parameters require gradients (only the
   stem is frozen: the reference removed IRN's stage-2 detach), so both
   backwards also compute weight gradients;
2. ``mmwsss``: :class:`mmwsss.AdvCAMClassifier` (``predict_cams``): the
   Grad-CAM map in closed form (one forward + one backward per step), input
   gradient only, frozen parameters, one forward of step 0 shared by all
   classes, no backward at the last step; once with all classes and both
   copies in one batch from step 1 on (the default on a GPU) and once one
   class per batch (``max_classes_per_batch=1``, the default on a CPU,
   where large batches only add memory traffic).

Both produce the saved ``strided`` / ``high_res`` CAMs (max-normalised), so
the maximum absolute difference of the maps is reported with the time
ratio.

``--memory`` instead measures the peak memory of both (``mmwsss`` with its
device default batching) at T = 3 and T = 27 (``--memory-iters``), on a
smaller image by default (128x160, 2 classes, scale 1.0) so that T = 27
stays quick on a CPU, and prints the ratio T = 27 / T = 3 (1.00 when the
memory does not grow with the number of steps). Every (loop, T) runs in a
fresh subprocess: on a CPU the figure is the peak resident memory of the
climb minus the resident memory just before it (model built, inputs
ready), from Linux's ``VmHWM`` reset just before the climb, with glibc's
mmap threshold fixed at 64 KiB (``MALLOC_MMAP_THRESHOLD_``) so that freed
tensors leave the resident set at once instead of fragmenting the heap
(which otherwise adds about +-8 MiB of noise); on CUDA
(``--device cuda``) ``torch.cuda.max_memory_allocated`` minus the memory
allocated before the climb. Not a test::

    python benchmarks/advcam.py [--adv-iter 3] [--classes 3] [--threads 1]
    python benchmarks/advcam.py --adv-iter 27 --scales 1.0 0.5 1.5 2.0
    python benchmarks/advcam.py --memory [--size 128 160] [--classes 2]
"""
import argparse
import json
import logging
import os
import os.path as osp
import subprocess
import sys
import time
from functools import partial

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from PIL import Image

from mmwsss.functional import advcam_scale_schedule, merge_multiscale_cams
from mmwsss.models.utils.cam import scaled_size
from mmwsss.registry import MODELS
from peak_memory import PeakMemory

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MODEL_CFG = osp.join(ROOT, 'configs', '_base_', 'models', 'cam_r50-os16.py')
IMAGE = osp.join(
    osp.dirname(ROOT), 'shared', 'data', 'coco128', 'train2017',
    '000000000136.jpg')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='image size; 384 512 by default, 128 160 with --memory')
    parser.add_argument(
        '--classes',
        type=int,
        help='target classes; 3 by default, 2 with --memory')
    parser.add_argument(
        '--adv-iter',
        type=int,
        default=3,
        help='adversarial steps T (the official default is 27)')
    parser.add_argument('--scales', type=float, nargs='+', default=(1.0, ))
    parser.add_argument('--depth', type=int, default=50)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--memory',
        action='store_true',
        help='peak memory at the --memory-iters step counts instead of time')
    parser.add_argument(
        '--memory-iters', type=int, nargs=2, default=(3, 27), metavar='T')
    # internal: one peak measurement (in a subprocess of --memory)
    parser.add_argument('--peak-of', help=argparse.SUPPRESS)
    args = parser.parse_args()
    small = args.memory or args.peak_of
    if args.size is None:
        args.size = (128, 160) if small else (384, 512)
    if args.classes is None:
        args.classes = 2 if small else 3
    return args


def build_model(depth: int, adv_iter: int):
    """The IRN CAM classifier with random weights, as AdvCAMClassifier."""
    cfg = Config.fromfile(MODEL_CFG).model.to_dict()
    cfg.update(type='mmwsss.AdvCAMClassifier', adv_iter=adv_iter)
    cfg['backbone'].update(depth=depth, init_cfg=None, frozen_stages=0)
    if depth < 50:
        cfg['head']['in_channels'] = 512
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    # mmengine logs every parameter's initialisation at INFO
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    model.init_weights()
    logger.setLevel(level)
    return model.eval()


def load_image(size) -> np.ndarray:
    """(H, W, 3) uint8 RGB image of ``size``."""
    if osp.isfile(IMAGE):
        img = Image.open(IMAGE).convert('RGB')
        return np.asarray(img.resize(size[::-1], Image.BICUBIC))
    return np.random.default_rng(0).integers(
        0, 256, (*size, 3), dtype=np.uint8)


def make_inputs(model, img: np.ndarray, scales):
    """Normalised (3, h_s, w_s) images, one per scale (PIL bicubic)."""
    pil = Image.fromarray(img)
    out = []
    for scale in scales:
        h, w = scaled_size(img.shape[:2], scale)
        arr = np.asarray(pil.resize((w, h), Image.BICUBIC))
        out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
    data = model.data_preprocessor(
        dict(inputs=[out], data_samples=[DataSample().set_gt_label([0])]))
    return data['inputs'][0]


class GradCAMHooks:
    """Forward/backward hooks on the backbone's last output (``stage4``)."""

    def __init__(self, module: torch.nn.Module):
        self.activation = self.gradient = None
        self.handle = module.register_forward_hook(self._forward)

    def _forward(self, module, inputs, outputs):
        self.activation = outputs[-1]
        if outputs[-1].requires_grad:
            outputs[-1].register_hook(self._backward)

    def remove(self):
        self.handle.remove()

    def _backward(self, grad):
        self.gradient = grad


def reference_loop(model, hooks: GradCAMHooks, inputs, scales, keys,
                   image_size, adv_iter: int, ad_coeff: float = 7.0,
                   step_size: float = 0.08, score_th: float = 0.5):
    """The official loop structure (see the module docstring)."""
    schedule = dict(zip(scales, advcam_scale_schedule(scales, adv_iter)))
    order = sorted(range(len(scales)), key=lambda i: scales[i] != 0.5)
    per_scale = [None] * len(scales)
    with torch.enable_grad():
        for index in order:
            steps, multiplier = schedule[scales[index]]
            image = inputs[index]
            pair = torch.stack([image, image.flip(-1)])
            maps = []
            for c in keys:
                x = pair.clone().requires_grad_(True)
                accumulated, init = 0, None
                for _ in range(steps):
                    model.zero_grad()
                    raw = model.head.forward_cams(model.extract_feat(x))
                    # Grad-CAM: first backward, all the way down
                    raw[:, c].relu().sum().backward(retain_graph=True)
                    grad, act = hooks.gradient, hooks.activation
                    weights = grad.sum((2, 3)) / ((grad > 0).sum() + 1e-12)
                    cam = (act * weights[:, :, None, None]).sum(1).relu()
                    regions = cam[0] + cam[1].flip(-1)
                    if init is None:
                        init = regions.detach()
                    accumulated = accumulated + multiplier * regions.detach()
                    y = raw.relu().mean((2, 3))
                    logit_loss = -2 * y[:, c].sum() + y.sum()
                    mask = (regions / regions.max() > score_th).float()
                    l_ad = (mask * (regions - init).abs()).sum()
                    objective = -logit_loss - ad_coeff * l_ad
                    # second backward for the image gradient
                    model.zero_grad()
                    x.grad = None
                    objective.backward()
                    g = x.grad
                    with torch.no_grad():
                        x = torch.clamp(
                            x + step_size * g / (g.abs().max() + 1e-12),
                            min=x.min(), max=x.max())
                    x.requires_grad_(True)
                maps.append(accumulated)
            maps = torch.stack(maps)
            per_scale[index] = torch.stack([maps, torch.zeros_like(maps)])
    model.zero_grad()
    return merge_multiscale_cams(per_scale, image_size)


def ours(model, inputs, scales, keys, image_size, max_classes_per_batch):
    """mmwsss.AdvCAMClassifier on the same inputs."""
    model.max_classes_per_batch = max_classes_per_batch
    sample = DataSample().set_gt_label(keys)
    sample.set_metainfo(dict(ori_shape=image_size, cam_scales=tuple(scales)))
    with torch.no_grad():
        out = model.predict_cams(inputs, sample)
    return out.cam_strided, out.cam_high_res


def peak_memory_mib(run, device: torch.device) -> float:
    """Peak memory of ``run()`` above the memory in use before it."""
    with PeakMemory(device) as peak:
        run()
    return peak.mib


def setup(args):
    """Model (on ``args.device``), inputs, image size and target classes."""
    torch.set_num_threads(args.threads)
    init_default_scope('mmpretrain')
    model = build_model(args.depth, args.adv_iter).to(args.device)
    img = load_image(args.size)
    inputs = make_inputs(model, img, args.scales)
    with torch.no_grad():
        scores = model.raw_cams(inputs[0][None]).mean((2, 3))[0]
    keys = scores.argsort(descending=True)[:args.classes].tolist()
    return model, inputs, tuple(img.shape[:2]), keys


def measure_peak(args) -> dict:
    """One loop's peak memory at ``args.adv_iter`` steps (a subprocess)."""
    model, inputs, image_size, keys = setup(args)
    if args.peak_of == 'reference':
        hooks = GradCAMHooks(model.backbone)
        run = partial(reference_loop, model, hooks, inputs, args.scales, keys,
                      image_size, args.adv_iter)
    else:
        run = partial(ours, model, inputs, args.scales, keys, image_size,
                      model.max_classes_per_batch)
    return dict(
        peak_mib=peak_memory_mib(run, torch.device(args.device)), keys=keys)


def memory_main(args):
    """Peak memory of both loops at the two step counts, and the ratios."""
    peaks = {}
    for loop in ('mmwsss', 'reference'):
        for adv_iter in args.memory_iters:
            cmd = [
                sys.executable, __file__, '--peak-of', loop, '--adv-iter',
                str(adv_iter), '--size', *map(str, args.size), '--classes',
                str(args.classes), '--scales', *map(str, args.scales),
                '--depth', str(args.depth), '--threads', str(args.threads),
                '--device', args.device
            ]
            env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536')
            out = subprocess.run(
                cmd, check=True, capture_output=True, text=True,
                env=env).stdout
            peaks[loop, adv_iter] = json.loads(out.strip().split('\n')[-1])
    few, many = args.memory_iters
    keys = peaks['mmwsss', few]['keys']
    print(f'peak memory above the model and inputs ({args.device}): image '
          f'{tuple(args.size)}, scales {tuple(args.scales)}, classes {keys}, '
          f'depth {args.depth}, threads {args.threads}')
    for loop in ('mmwsss', 'reference'):
        low, high = (peaks[loop, t]['peak_mib'] for t in (few, many))
        print(f'{loop:9s}: T = {few:2d} {low:8.1f} MiB, T = {many:2d} '
              f'{high:8.1f} MiB, ratio T={many}/T={few} {high / low:.2f}')


def main():
    args = parse_args()
    if args.peak_of:
        print(json.dumps(measure_peak(args)))
        return
    if args.memory:
        memory_main(args)
        return
    model, inputs, image_size, keys = setup(args)
    hooks = GradCAMHooks(model.backbone)
    print(f'image {image_size}, scales {tuple(args.scales)}, '
          f'classes {keys}, adv_iter {args.adv_iter}, depth {args.depth}, '
          f'threads {args.threads}, device {args.device}')

    start = time.perf_counter()
    # on the host, as ours hands them on (and waits for the device)
    ref = [
        cam.cpu() for cam in reference_loop(model, hooks, inputs, args.scales,
                                            keys, image_size, args.adv_iter)
    ]
    t_ref = time.perf_counter() - start
    hooks.remove()
    print(f'reference loop (per class, 2 full backwards): {t_ref:8.2f} s')
    for chunk, name in ((len(keys), 'all classes in one batch'),
                        (1, 'one class per batch')):
        start = time.perf_counter()
        new = ours(model, inputs, args.scales, keys, image_size, chunk)
        t_new = time.perf_counter() - start
        diff = max((a - b).abs().max().item() for a, b in zip(ref, new))
        print(f'mmwsss, {name:24s}:        {t_new:8.2f} s   '
              f'speed-up {t_ref / t_new:.2f}x   '
              f'max |difference| of the maps {diff:.2e}')


if __name__ == '__main__':
    main()
