# Copyright (c) mmwsss contributors. All rights reserved.
"""Cost of mmwsss.BBAM against the official code's loop structure.

On one real image (coco128 ``000000000136.jpg``, 500x374, 4 objects by
default, resized to a ``--short-side`` of 480) and a Faster R-CNN R-50-FPN
from mmdet's base config, three ways to run the same BBAM optimisation (same
proposals, positives, iterations, loss and Adam steps):

1. ``reference``: the structure of ``BBAM_training_images_multi.py``: one
   object after the other; per object a clean forward of the whole detector,
   then per iteration the image re-read from disk and re-transformed, the RPN
   run (its output unused), backbone and RoI head on the perturbed image
   with the detector's parameters requiring gradients (weight gradients
   computed and accumulated);
2. ``mmwsss, one object per batch``: :class:`mmwsss.BBAM` with
   ``max_objects_per_batch=1``: normalised image cached, no RPN, frozen
   detector, torchvision's RoIAlign kernel (the reference: mmcv's, the same
   single-threaded kernel design as the official code's);
3. ``mmwsss, batched``: the same with all objects of the image in one batch;
4. with ``--channels-last``: run 2 again with the detector in channels-last
   memory format (as :class:`mmwsss.ChannelsLastHook` converts a model).

The weights are random, with a classifier bias that makes class 0 win
everywhere, so that every object (labelled 0) has positives; timing does not
depend on what the detector recognises. Not a test::

    python benchmarks/bbam.py [--iters 5] [--short-side 480] [--threads 2]
        [--channels-last]
"""
import argparse
import copy
import json
import os.path as osp
import time

import mmdet
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmwsss.models.bbam import (BBAM, bbam_loss, bbam_stride, init_bbam_mask,
                                jitter_boxes, perturb_with_mask,
                                sample_jitter_draws, select_positive_proposals)

COCO128 = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'shared',
    'data', 'coco128')
FASTER_RCNN = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
    'faster-rcnn_r50_fpn.py')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--image', default='000000000136.jpg')
    parser.add_argument('--coco-root', default=COCO128)
    parser.add_argument('--short-side', type=int, default=480)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--proposals', type=int, default=1000)
    parser.add_argument('--max-objects', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--channels-last', action='store_true')
    return parser.parse_args()


def coco_boxes(root: str, file_name: str, max_objects: int) -> np.ndarray:
    """The largest non-crowd boxes of an image, xyxy, original frame."""
    with open(osp.join(root, 'annotations', 'instances_train2017.json')) as f:
        coco = json.load(f)
    (image_id, ) = [
        i['id'] for i in coco['images'] if i['file_name'] == file_name
    ]
    anns = sorted((a for a in coco['annotations']
                   if a['image_id'] == image_id and not a['iscrowd']),
                  key=lambda a: -a['area'])[:max_objects]
    boxes = np.array([a['bbox'] for a in anns], dtype=np.float32)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def build_model(proposals: int, iters: int) -> BBAM:
    detector = copy.deepcopy(Config.fromfile(FASTER_RCNN).model.to_dict())
    detector['backbone']['init_cfg'] = None
    torch.manual_seed(0)
    model = BBAM(detector, num_proposals=proposals, num_iters=iters, seed=None)
    model.detector.init_weights()
    fc_cls = model.detector.roi_head.bbox_head.fc_cls
    with torch.no_grad():
        fc_cls.bias[0] = 10.0
    return model.eval()


def make_input(model: BBAM, pipeline: Compose, img_path: str):
    """Read, resize, pack and normalise the image (what the reference redoes
    every iteration)."""
    data = pipeline(dict(img_path=img_path, img_id=0))
    batch = model.detector.data_preprocessor(pseudo_collate([data]), False)
    return batch['inputs'], batch['data_samples']


def reference_loop(model: BBAM, pipeline: Compose, img_path: str,
                   boxes: np.ndarray, labels, generator) -> list:
    """The official loop structure (see the module docstring)."""
    detector = model.detector
    roi_head = detector.roi_head
    detector.requires_grad_(True)
    # The reference's RoIAlign is the single-threaded Detectron kernel, as
    # mmcv's; mmwsss.BBAM switches to torchvision's (same values).
    for layer in roi_head.bbox_roi_extractor.roi_layers:
        layer.use_torchvision = False
    maps = []
    for box, label in zip(boxes, labels):
        inputs, samples = make_input(model, pipeline, img_path)
        height, width = samples[0].img_shape
        stride = bbam_stride(box, (height, width))
        proposals = torch.from_numpy(
            jitter_boxes(
                box, (height, width),
                sample_jitter_draws(model.num_proposals, model.jitter_ratio,
                                    generator)))
        rois = torch.cat([proposals.new_zeros(len(proposals), 1), proposals],
                         dim=1)
        with torch.no_grad():
            feats = detector.extract_feat(inputs)
            detector.rpn_head.predict(feats, samples, rescale=False)
            out = roi_head._bbox_forward(feats, rois)
        logits, raw = out['cls_score'], out['bbox_pred']
        decoded = roi_head.bbox_head.bbox_coder.decode(proposals, raw).view(
            len(proposals), -1, 4)
        class_boxes = torch.cat(
            [decoded, decoded.new_zeros(len(proposals), 1, 4)], dim=1)
        positives, _ = select_positive_proposals(logits, class_boxes, box,
                                                 label, model.iou_cascade,
                                                 model.max_positives)
        keep = torch.from_numpy(positives)
        probs = logits.softmax(dim=1)[keep, label]
        deltas = raw.view(len(proposals), -1, 4)[keep, label]
        mask = init_bbam_mask(class_boxes[keep, label], (height, width),
                              stride).requires_grad_(True)
        optimizer = torch.optim.Adam([mask], lr=model.lr)
        pos_rois = rois[keep]
        for _ in range(model.num_iters):
            inputs, samples = make_input(model, pipeline, img_path)
            perturbed = perturb_with_mask(inputs[0, :, :height, :width], mask)
            perturbed = F.pad(
                perturbed,
                (0, inputs.shape[-1] - width, 0, inputs.shape[-2] - height))
            feats = detector.extract_feat(perturbed[None])
            detector.rpn_head.predict(feats, samples, rescale=False)
            out = roi_head._bbox_forward(feats, pos_rois)
            n = len(pos_rois)
            loss = bbam_loss(
                deltas,
                out['bbox_pred'].view(n, -1, 4)[:, label],
                probs,
                out['cls_score'].softmax(dim=1)[:, label],
                mask,
                model.l1_coeff,
                model.tv_coeff,
                model.tv_beta,
                box_weight=model.box_weight,
                cls_weight=model.cls_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                mask.clamp_(0, 1)
        maps.append(mask.detach()[0])
    detector.requires_grad_(False)
    detector.zero_grad(set_to_none=True)
    for layer in roi_head.bbox_roi_extractor.roi_layers:
        layer.use_torchvision = True
    return maps


def mmwsss_run(model: BBAM, pipeline: Compose, img_path: str,
               boxes: np.ndarray, labels, generator, per_batch) -> list:
    model.max_objects_per_batch = per_batch
    inputs, samples = make_input(model, pipeline, img_path)
    height, width = samples[0].img_shape
    result = model.explain(
        inputs[0, :, :height, :width],
        torch.from_numpy(boxes),
        torch.tensor(labels),
        padded_shape=tuple(inputs.shape[-2:]),
        generator=generator)
    return result.bbams


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    init_default_scope('mmdet')
    img_path = osp.join(args.coco_root, 'train2017', args.image)
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(1333, args.short_side), keep_ratio=True),
        dict(type='PackDetInputs')
    ])
    model = build_model(args.proposals, args.iters)
    _, samples = make_input(model, pipeline, img_path)
    scale_w, scale_h = samples[0].scale_factor
    boxes = coco_boxes(args.coco_root, args.image, args.max_objects) * \
        np.array([scale_w, scale_h, scale_w, scale_h], dtype=np.float32)
    labels = [0] * len(boxes)
    print(f'image {args.image} at {tuple(samples[0].img_shape)}, '
          f'{len(boxes)} objects, {args.iters} iterations, '
          f'{args.proposals} proposals, {args.threads} threads')

    # warm-up (allocator, lazy kernels): one iteration, one object
    model.num_iters = 1
    mmwsss_run(model, pipeline, img_path, boxes[:1], labels[:1],
               np.random.default_rng(0), 1)
    model.num_iters = args.iters

    timings, outputs = {}, {}
    runs = ((
        'reference',
        lambda g: reference_loop(model, pipeline, img_path, boxes, labels, g)
    ), ('mmwsss, one object per batch',
        lambda g: mmwsss_run(model, pipeline, img_path, boxes, labels, g, 1)),
            ('mmwsss, batched', lambda g: mmwsss_run(model, pipeline, img_path,
                                                     boxes, labels, g, None)))
    if args.channels_last:

        def channels_last_run(generator):
            model.to(memory_format=torch.channels_last)
            try:
                return mmwsss_run(model, pipeline, img_path, boxes, labels,
                                  generator, 1)
            finally:
                model.to(memory_format=torch.contiguous_format)

        runs += (('mmwsss, one per batch, NHWC', channels_last_run), )
    for name, run in runs:
        start = time.perf_counter()
        outputs[name] = run(np.random.default_rng(0))
        timings[name] = time.perf_counter() - start
        print(f'{name:<30} {timings[name]:8.1f} s', flush=True)
    base = timings['reference']
    for name in timings:
        print(f'speed-up of {name:<30} x{base / timings[name]:.2f}')
    for name in list(outputs)[1:]:
        diff = max((a - b).abs().max().item()
                   for a, b in zip(outputs['reference'], outputs[name]))
        print(f'max |reference - {name}| over the maps: {diff:.2e}')


if __name__ == '__main__':
    main()
