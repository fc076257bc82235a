# Copyright (c) mmwsss contributors. All rights reserved.
"""IR labels, random walk and the pseudo-mask PNGs on real photographs of
real sizes (``../shared/data/coco128``) with an untrained IRNet: shapes,
value ranges, no crash, no memory growth over repeated passes."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image

from mmwsss.evaluation.writers.label_map_writer import save_label_png
from mmwsss.functional import (cams_to_ir_label, dense_crf_label, random_walk,
                               rw_to_semantic_label)
from mmwsss.models.utils import strided_size
from mmwsss.registry import MODELS

COCO128 = osp.join(
    osp.dirname(__file__), *(['..'] * 4), 'shared', 'data', 'coco128')
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not osp.isdir(COCO128),
        reason='../shared/data/coco128 (real photographs) is absent')
]
MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


def _images(count=3):
    """The first images with 2+ categories: (RGB array, keys, boxes)."""
    with open(osp.join(COCO128, 'annotations',
                       'instances_train2017.json')) as f:
        coco = json.load(f)
    categories = sorted(c['id'] for c in coco['categories'])
    boxes = {}
    for ann in coco['annotations']:
        boxes.setdefault(ann['image_id'], []).append(
            (categories.index(ann['category_id']), ann['bbox']))
    out = []
    for img in sorted(coco['images'], key=lambda i: i['file_name']):
        objects = boxes.get(img['id'], [])
        if len({k for k, _ in objects}) < 2:
            continue
        rgb = np.asarray(
            Image.open(osp.join(COCO128, 'train2017',
                                img['file_name'])).convert('RGB'))
        out.append((rgb, objects))
        if len(out) == count:
            return out
    raise AssertionError('coco128 has too few multi-class images')


def _box_cams(objects, size_hw):
    """Smooth CAMs: a Gaussian bump on every box of a class, max 1."""
    keys = sorted({k for k, _ in objects})
    yy, xx = np.mgrid[:size_hw[0], :size_hw[1]].astype(np.float32)
    cams = np.zeros((len(keys), ) + tuple(size_hw), np.float32)
    for k, (x, y, w, h) in objects:
        bump = np.exp(-(((xx - x - w / 2) / (w / 2 + 1))**2 +
                        ((yy - y - h / 2) / (h / 2 + 1))**2))
        cams[keys.index(k)] = np.maximum(cams[keys.index(k)], bump)
    return keys, cams / cams.max(axis=(1, 2), keepdims=True)


def _rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0


def test_ir_labels_walk_and_pngs_on_real_photos(tmp_path):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    irnet = MODELS.build(
        dict(
            type='mmwsss.IRNet',
            backbone=dict(
                type='mmpretrain.ResNet',
                depth=18,
                base_channels=32,
                strides=(1, 2, 2, 1),
                out_indices=(0, 1, 2, 3)),
            in_channels=(64, 32, 64, 128, 256),
            test_pad_size=512)).eval()
    images = _images()

    def one_pass():
        for i, (rgb, objects) in enumerate(images):
            height, width = rgb.shape[:2]
            keys, cams = _box_cams(objects, (height, width))
            ir_label = cams_to_ir_label(
                cams, keys, 0.30, 0.05, image=rgb, crf=dense_crf_label)
            assert ir_label.shape == (height, width)
            assert set(np.unique(ir_label)) <= {0, 255} | {k + 1 for k in keys}
            assert (ir_label == 255).any()

            img = (torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() -
                   MEAN) / STD
            edge, displacement = irnet.edge_and_displacement(img)
            grid = strided_size((height, width))
            assert edge.shape == grid and displacement.shape == (2, ) + grid
            assert 0 <= edge.min() and edge.max() <= 1
            strided = torch.nn.functional.interpolate(
                torch.from_numpy(cams)[None], size=grid, mode='bilinear',
                align_corners=False)[0]
            rw = random_walk(strided, edge, exp_times=8)
            assert torch.isfinite(rw).all() and rw.min() >= 0
            label = rw_to_semantic_label(rw, keys, (height, width), 0.25)
            assert label.shape == (height, width)
            assert set(np.unique(label)) <= {0} | {k + 1 for k in keys}

            path = str(tmp_path / f'{i}.png')
            save_label_png(path, label)
            assert np.array_equal(np.asarray(Image.open(path)), label)

    one_pass()  # warm-up: allocator pools, lazy imports
    before = _rss_mb()
    one_pass()
    one_pass()
    assert _rss_mb() - before < 200, 'memory grows from pass to pass'
