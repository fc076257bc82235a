# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.BoxPseudoCocoDataset and its transforms; Mask R-CNN training on
BBAM-style pseudo-masks through tools/train.py."""
import copy
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import pytest
from mmcv.transforms import Compose
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks
from mmengine.registry import init_default_scope

from mmwsss.datasets import (BoxPseudoCocoDataset, LoadBoxPseudoAnnotations,
                             PackBoxPseudoInputs)

CLASSES = ('train', 'boat', 'aeroplane')
HEIGHT, WIDTH = 40, 50
BOXES = [[5., 4., 25., 30.], [20., 10., 45., 36.]]


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def _box_mask(box, margin: int) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in box)
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0 + margin:y1 - margin, x0 + margin:x1 - margin] = True
    return mask


def _json(path, margin: int, boxes=BOXES, images=(1, 2)) -> dict:
    content = dict(
        images=[
            dict(id=i, file_name=f'im{i}.jpg', height=HEIGHT, width=WIDTH)
            for i in images
        ],
        annotations=[],
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)])
    for image_id in images:
        for k, box in enumerate(boxes):
            mask = _box_mask(box, margin)
            content['annotations'].append(
                dict(
                    id=len(content['annotations']) + 1,
                    image_id=image_id,
                    category_id=k + 1,
                    segmentation=_rle(mask),
                    area=float(mask.sum()),
                    bbox=[box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    iscrowd=0))
    with open(path, 'w') as f:
        json.dump(content, f)
    return content


@pytest.fixture
def pair(tmp_path):
    for i in (1, 2):
        image = np.random.default_rng(i).integers(
            0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        mmcv.imwrite(image, str(tmp_path / f'im{i}.jpg'))
    _json(tmp_path / 'fg.json', margin=4)
    _json(tmp_path / 'ignore.json', margin=1)
    return tmp_path


def _dataset(root, ignore='ignore.json', pipeline=()):
    return BoxPseudoCocoDataset(
        data_root=str(root),
        ann_file='fg.json',
        ignore_ann_file=ignore,
        metainfo=dict(classes=CLASSES),
        data_prefix=dict(img=''),
        pipeline=list(pipeline))


def test_instances_get_their_ignore_masks(pair):
    dataset = _dataset(pair)
    assert len(dataset) == 2
    for instance, box in zip(dataset[0]['instances'], BOXES):
        assert instance['bbox'] == box
        ignore = mask_utils.decode(instance['ignore_mask']).astype(bool)
        assert np.array_equal(ignore, _box_mask(box, 1))
        fg = mask_utils.decode(instance['mask']).astype(bool)
        assert np.array_equal(fg, _box_mask(box, 4))
    plain = _dataset(pair, ignore=None)
    assert 'ignore_mask' not in plain[0]['instances'][0]


@pytest.mark.parametrize(
    'change, message',
    [(dict(boxes=BOXES[:1]), 'annotations in'),
     (dict(boxes=[BOXES[0], [20., 10., 44., 36.]]), 'annotation 1'),
     (dict(images=(1, )), 'missing from'),
     (dict(images=(1, 2, 3)), 'has images that')])
def test_pairing_errors_name_the_image(pair, change, message):
    _json(pair / 'ignore.json', margin=1, **change)
    with pytest.raises(ValueError, match=message):
        _dataset(pair)


def test_pairing_checks_file_names(pair):
    content = _json(pair / 'ignore.json', margin=1)
    content['images'][1]['file_name'] = 'other.jpg'
    with open(pair / 'ignore.json', 'w') as f:
        json.dump(content, f)
    with pytest.raises(ValueError, match='other.jpg'):
        _dataset(pair)


def _pipeline(with_ignore: bool):
    load = LoadBoxPseudoAnnotations if with_ignore else None
    return [
        dict(type='LoadImageFromFile'),
        dict(type=load or 'LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(100, 80), keep_ratio=True),
        dict(type='RandomFlip', prob=1.0),
        dict(type='Pad', size_divisor=32),
        dict(type=PackBoxPseudoInputs)
    ]


def test_masks_follow_the_same_transforms(pair):
    init_default_scope('mmdet')
    dataset = _dataset(pair, pipeline=_pipeline(True))
    packed = dataset[0]['data_samples']
    gt = packed.gt_instances
    assert gt.masks.masks.max() == 1 and gt.ignore_masks.masks.max() == 1
    assert gt.masks.masks.shape == gt.ignore_masks.masks.shape == (2, 96, 128)

    # each mask alone through the same transforms
    expected = {}
    for key, margin in (('masks', 4), ('ignore_masks', 1)):
        results = dict(
            img=np.zeros((HEIGHT, WIDTH, 3), np.uint8),
            img_shape=(HEIGHT, WIDTH),
            ori_shape=(HEIGHT, WIDTH),
            gt_bboxes=np.array(BOXES, np.float32))
        results['gt_bboxes'] = HorizontalBoxes(results['gt_bboxes'])
        results['gt_masks'] = BitmapMasks(
            np.stack([_box_mask(b, margin) for b in BOXES]).astype(np.uint8),
            HEIGHT, WIDTH)
        transform = Compose([
            dict(type='Resize', scale=(100, 80), keep_ratio=True),
            dict(type='RandomFlip', prob=1.0),
            dict(type='Pad', size_divisor=32)
        ])
        expected[key] = transform(results)['gt_masks'].masks
    assert np.array_equal(gt.masks.masks, expected['masks'])
    assert np.array_equal(gt.ignore_masks.masks, expected['ignore_masks'])


def test_without_ignore_the_transforms_are_mmdets(pair):
    init_default_scope('mmdet')
    dataset = _dataset(pair, ignore=None, pipeline=_pipeline(True))
    gt = dataset[0]['data_samples'].gt_instances
    assert 'ignore_masks' not in gt and gt.masks.masks.max() == 1


MASK_RCNN_CONFIG = """
_base_ = ['{repo}/configs/bbam/'
          'mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py']
classes = ('train', 'boat', 'aeroplane')
metainfo = dict(classes=classes)
model = dict(roi_head=dict(bbox_head=dict(num_classes=3),
                           mask_head=dict(num_classes=3)))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(metainfo=metainfo, ann_file='{out}/fg.json',
                 ignore_ann_file='{out}/ignore.json',
                 data_prefix=dict(img='{data}/JPEGImages/')))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{data}/', metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file='{data}/annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
load_from = None  # the config starts from a stage-1 detector, absent here
"""


def _pseudo_jsons(data_root: str, out: str) -> None:
    # BBAM-like pseudo-masks from the ground truth: eroded foreground,
    # dilated ignore mask, same boxes.
    with open(osp.join(data_root, 'annotations', 'instances_train.json')) as f:
        source = json.load(f)
    kernel = np.ones((5, 5), np.uint8)
    for name, change in (('fg', cv2.erode), ('ignore', cv2.dilate)):
        content = copy.deepcopy(source)
        for ann in content['annotations']:
            mask = mask_utils.decode(ann['segmentation'])
            changed = change(mask, kernel)
            if not changed.any():
                changed = mask
            ann['segmentation'] = _rle(changed)
            ann['area'] = float(changed.sum())
        with open(osp.join(out, name + '.json'), 'w') as f:
            json.dump(content, f)


@pytest.mark.slow
def test_mask_rcnn_trains_on_pseudo_masks(tmp_path, tiny_synthvoc, repo_root):
    _pseudo_jsons(tiny_synthvoc, str(tmp_path))
    config = tmp_path / 'mask_rcnn.py'
    config.write_text(
        MASK_RCNN_CONFIG.format(
            repo=repo_root, data=tiny_synthvoc, out=str(tmp_path)))
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    work_dir = tmp_path / 'work'
    result = subprocess.run([
        sys.executable,
        osp.join(repo_root, 'tools', 'train.py'),
        str(config), '--work-dir',
        str(work_dir)
    ],
                            cwd=repo_root,
                            env=env,
                            capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert osp.isfile(work_dir / 'epoch_1.pth')
    log = result.stdout + result.stderr
    assert 'loss_mask' in log and 'coco/segm_mAP' in log
