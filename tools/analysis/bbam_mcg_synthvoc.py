# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM pseudo-masks with and without MCG refinement on SynthVOC.

For the first ``--num-images`` training images of a SynthVOC folder, every
object gets a BBAM-like map: its ground-truth mask averaged onto the coarse
grid of BBAM's adaptive stride (:func:`mmwsss.models.bbam.bbam_stride`)
plus Gaussian noise (``--noise``), clipped to [0, 1]. The maps go through
the real pseudo-mask step (:func:`mmwsss.models.bbam.bbam_pseudo_masks`:
rank threshold, blur, dense CRF on the image, box-filling fallbacks), once
as is and once refined with MCG-like proposals
(:mod:`mmwsss.testing.mcg`; counted in pixels, and as the reference
counts). ``mmwsss.BoxPseudoMaskMetric`` scores each against the ground
truth (semantic mIoU of the merged masks, mean instance IoU, mask AP).

The proposals are synthetic and follow the scene's ground-truth
boundaries (grid cells split by the object masks), and the maps are made
from the masks: the figures show the refinement at work, not the gain of
real MCG proposals on BBAMs of a trained detector (dissertation Table 5.4).

Example::

    python tools/dataset_converters/generate_synthetic_voc.py data/synthvoc
    python tools/analysis/bbam_mcg_synthvoc.py data/synthvoc \
        --num-images 40 --out work_dirs/bbam_mcg_synthvoc.json
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.evaluation import BoxPseudoMaskMetric  # noqa: E402
from mmwsss.fileio import decode_rle  # noqa: E402
from mmwsss.models.bbam import bbam_pseudo_masks, bbam_stride  # noqa: E402
from mmwsss.testing.mcg import synthetic_mcg_proposals  # noqa: E402

VARIANTS = (('BBAM', None), ('BBAM + MCG', 'pixels'),
            ('BBAM + MCG (reference counts)', 'reference'))
COLUMNS = ('mIoU', 'mean_instance_IoU', 'mask_AP', 'mask_AP50', 'mask_AP75')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='SynthVOC folder')
    parser.add_argument('--num-images',
                        type=int,
                        default=40,
                        help='first N training images (default 40)')
    parser.add_argument(
        '--noise',
        type=float,
        default=0.3,
        help='std of the Gaussian noise on the maps (default 0.3)')
    parser.add_argument(
        '--cell',
        type=int,
        default=8,
        help='grid cell of the synthetic superpixels, px (default 8)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='json file of the results')
    return parser.parse_args(argv)


def load_images(data_root: str, num_images: int) -> tuple:
    """The first training images with their objects (COCO json), and the
    number of classes."""
    with open(osp.join(data_root, 'annotations', 'instances_train.json')) as f:
        coco = json.load(f)
    objects = {}
    for ann in coco['annotations']:
        objects.setdefault(ann['image_id'], []).append(ann)
    images = sorted(coco['images'], key=lambda image: image['id'])
    return [(image, objects.get(image['id'], []))
            for image in images[:num_images]], len(coco['categories'])


def bbam_like_map(mask: np.ndarray, box: np.ndarray, noise: float,
                  rng: np.random.Generator) -> np.ndarray:
    """The mask averaged on BBAM's grid of the box, plus noise."""
    height, width = mask.shape
    stride = bbam_stride(box, (height, width))
    size = (max(1, int(width / stride)), max(1, int(height / stride)))
    coarse = cv2.resize(mask.astype(np.float32),
                        size,
                        interpolation=cv2.INTER_AREA)
    return np.clip(coarse + rng.normal(0, noise, coarse.shape), 0,
                   1).astype(np.float32)


def run(args) -> dict:
    rng = np.random.default_rng(args.seed)
    images, num_classes = load_images(args.data_root, args.num_images)
    metrics = {name: BoxPseudoMaskMetric() for name, _ in VARIANTS}
    for metric in metrics.values():
        metric.dataset_meta = dict(
            classes=[str(c) for c in range(num_classes)])
    refined = dict.fromkeys(metrics, 0)
    num_objects = 0
    start = time.perf_counter()
    for index, (image_info, anns) in enumerate(images):
        path = osp.join(args.data_root, 'JPEGImages', image_info['file_name'])
        image = cv2.imread(path)
        height, width = image.shape[:2]
        gt = np.stack([decode_rle(ann['segmentation'])
                       for ann in anns]) if anns else np.zeros(
                           (0, height, width), dtype=bool)
        boxes = np.array([[x, y, x + w, y + h]
                          for x, y, w, h in (a['bbox'] for a in anns)],
                         dtype=np.float64).reshape(-1, 4)
        labels = np.array([a['category_id'] - 1 for a in anns], dtype=np.int64)
        maps = [
            bbam_like_map(m, b, args.noise, rng) for m, b in zip(gt, boxes)
        ]
        num_objects += len(anns)
        objects = np.zeros((height, width), dtype=np.int64)
        for k, mask in enumerate(gt, 1):
            objects[mask] = k
        superpixels, proposal_ids = synthetic_mcg_proposals(
            objects, np.random.default_rng([args.seed, index]), args.cell)
        membership = np.zeros((len(proposal_ids), superpixels.max()),
                              dtype=bool)
        for p, ids in enumerate(proposal_ids):
            membership[p, ids - 1] = True
        for name, count in VARIANTS:
            mcg = {} if count is None else dict(
                mcg=(superpixels - 1, membership), mcg_count=count)
            pseudo = bbam_pseudo_masks(maps, np.full(len(maps), 10), boxes,
                                       labels, image, **mcg)
            if count is not None:
                refined[name] += int(pseudo['mcg_refined'].sum())
            sample = DetDataSample(metainfo=dict(img_path=path))
            sample.pred_instances = InstanceData(
                bboxes=torch.from_numpy(boxes),
                labels=torch.from_numpy(labels),
                masks=torch.from_numpy(pseudo['masks']),
                ignore_masks=torch.from_numpy(pseudo['ignore_masks']),
                from_ignored=torch.zeros(len(anns), dtype=torch.bool))
            sample.gt_instances = InstanceData(labels=torch.from_numpy(labels),
                                               masks=BitmapMasks(
                                                   gt.astype(np.uint8), height,
                                                   width))
            metrics[name].process(None, [sample.to_dict()])
    results = dict(images=len(images),
                   objects=num_objects,
                   noise=args.noise,
                   cell=args.cell,
                   seconds=round(time.perf_counter() - start, 1),
                   variants={})
    for name, metric in metrics.items():
        scores = metric.compute_metrics(metric.results)
        results['variants'][name] = dict(
            {key: round(scores[key], 2)
             for key in COLUMNS},
            refined_objects=refined[name])
    return results


def table(results: dict) -> str:
    """The results as a markdown table."""
    lines = [
        '| pseudo-masks | ' + ' | '.join(COLUMNS) + ' | refined |',
        '|---' * (len(COLUMNS) + 2) + '|'
    ]
    for name, row in results['variants'].items():
        lines.append(f'| {name} | ' + ' | '.join(f'{row[key]:.2f}'
                                                 for key in COLUMNS) +
                     f' | {row["refined_objects"]} |')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    results = run(args)
    print(f'{results["images"]} images, {results["objects"]} objects, '
          f'noise {results["noise"]}, {results["seconds"]} s')
    print(table(results))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == '__main__':
    main()
