# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM through tools/test.py on real COCO photographs with their real boxes
(``../shared/data/coco128``): many boxes per image, crowd annotations, tiny
boxes, real sizes; the pseudo-label jsons round-trip through mmdet's
``CocoDataset`` and ``CocoMetric``.

The detector is untrained (no weights offline): its classifier bias makes
'person' win everywhere, so person boxes get positive proposals and a real
mask optimisation, the other boxes take the documented no-positive path
(zero map -> box-filling pseudo-mask). Method quality is not measured here.
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmdet.datasets import CocoDataset
from mmdet.evaluation import CocoMetric
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from mmwsss.datasets import BoxPseudoCocoDataset

COCO128 = osp.join(
    osp.dirname(__file__), *(['..'] * 3), 'shared', 'data', 'coco128')
# 18 boxes with a crowd box and a 5x5 px box on a 640x218 panorama; 21 boxes
# with a crowd box on a 500x375 photo.
IMAGE_IDS = (357, 643)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not osp.isdir(COCO128),
        reason='../shared/data/coco128 (real photographs) is absent')
]

CONFIG = """
_base_ = ['{repo}/configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py']
data_root = '{coco}/'
classes = {classes!r}
model = dict(
    num_proposals=100,
    num_iters=2,
    detector=dict(roi_head=dict(bbox_head=dict(num_classes=80))))
test_dataloader = dict(
    num_workers=0,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='{ann}',
        data_prefix=dict(img='train2017/')))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir='{out}/maps'),
    dict(type='mmwsss.BBAMPseudoMaskWriter', output_dir='{out}/masks',
         fg_ann_file='{out}/fg.json', ignore_ann_file='{out}/ignore.json',
         semantic_dir='{out}/semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
"""


def _subset_annotations(path: str) -> dict:
    with open(osp.join(COCO128, 'annotations',
                       'instances_train2017.json')) as f:
        coco = json.load(f)
    coco['images'] = [i for i in coco['images'] if i['id'] in IMAGE_IDS]
    coco['annotations'] = [
        a for a in coco['annotations'] if a['image_id'] in IMAGE_IDS
    ]
    with open(path, 'w') as f:
        json.dump(coco, f)
    return coco


def _person_detector_checkpoint(repo: str, path: str) -> None:
    cfg = Config.fromfile(
        osp.join(repo, 'configs', 'bbam',
                 'faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py'))
    cfg.model.roi_head.bbox_head.num_classes = 80
    init_default_scope('mmdet')
    torch.manual_seed(0)
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    with torch.no_grad():
        detector.roi_head.bbox_head.fc_cls.bias[0] += 10.0  # person
    torch.save(dict(state_dict=detector.state_dict()), path)


def _decode(segmentation: dict) -> np.ndarray:
    return mask_utils.decode(segmentation).astype(bool)


def _predictions(pseudo: dict) -> list:
    # The pseudo-masks as CocoMetric predictions (label index = cat id - 1).
    samples = []
    for image in pseudo['images']:
        anns = [a for a in pseudo['annotations'] if a['image_id'] == image['id']]
        boxes = torch.tensor([a['bbox'] for a in anns], dtype=torch.float32)
        boxes[:, 2:] += boxes[:, :2]
        samples.append(
            dict(
                img_id=image['id'],
                ori_shape=(image['height'], image['width']),
                pred_instances=dict(
                    bboxes=boxes,
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(
                        np.stack([_decode(a['segmentation'])
                                  for a in anns])))))
    return samples


def _segm_map(ann_file: str, classes: tuple, samples: list) -> float:
    metric = CocoMetric(ann_file=ann_file, metric='segm')
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, samples)
    return metric.evaluate(len(samples))['coco/segm_mAP']


def test_bbam_on_coco128_round_trips_through_mmdet(tmp_path, repo_root):
    classes = CocoDataset.METAINFO['classes']
    source = _subset_annotations(str(tmp_path / 'subset.json'))
    checkpoint = str(tmp_path / 'detector.pth')
    _person_detector_checkpoint(repo_root, checkpoint)
    out = str(tmp_path / 'bbam')
    config = tmp_path / 'bbam_coco128.py'
    config.write_text(
        CONFIG.format(
            repo=repo_root,
            coco=osp.abspath(COCO128),
            classes=classes,
            ann=str(tmp_path / 'subset.json'),
            out=out))
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=repo_root + os.pathsep + os.environ.get('PYTHONPATH', ''))
    run = subprocess.run([
        sys.executable,
        osp.join(repo_root, 'tools', 'test.py'),
        str(config), checkpoint, '--work-dir',
        str(tmp_path / 'work')
    ],
                         cwd=repo_root,
                         env=env,
                         capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    with open(osp.join(out, 'masks', 'manifest.json')) as f:
        manifest = json.load(f)
    assert manifest['written_this_run'] == 2 and not manifest['failures']

    # every source box (crowd ones included) keeps one pseudo-mask, with its
    # category and crowd flag: nothing dropped, nothing mis-paired
    with open(osp.join(out, 'fg.json')) as f:
        fg = json.load(f)
    for image_id in IMAGE_IDS:
        names = {c['id']: c['name'] for c in source['categories']}
        want = sorted((names[a['category_id']], a['iscrowd'],
                       tuple(np.round(a['bbox'], 2)))
                      for a in source['annotations']
                      if a['image_id'] == image_id)
        got = sorted((classes[a['category_id'] - 1], a['iscrowd'],
                      tuple(np.round(a['bbox'], 2)))
                     for a in fg['annotations'] if a['image_id'] == image_id)
        assert got == want
    assert any(a['iscrowd'] for a in fg['annotations'])
    for ann in fg['annotations']:
        mask = _decode(ann['segmentation'])
        x, y, w, h = ann['bbox']
        assert mask.any(), ann
        ys, xs = np.nonzero(mask)  # inside the box, up to rounding
        assert xs.min() >= int(x) - 1 and xs.max() <= x + w + 1
        assert ys.min() >= int(y) - 1 and ys.max() <= y + h + 1

    # mmdet's CocoDataset reads the masks back unchanged
    init_default_scope('mmdet')
    dataset = CocoDataset(
        ann_file=osp.join(out, 'fg.json'),
        data_prefix=dict(img=osp.join(COCO128, 'train2017')),
        test_mode=True,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True)
        ])
    assert len(dataset) == 2
    for index in range(len(dataset)):
        item = dataset[index]
        anns = [
            a for a in fg['annotations'] if a['image_id'] == item['img_id']
        ]
        assert np.array_equal(
            item['gt_masks'].masks.astype(bool),
            np.stack([_decode(a['segmentation']) for a in anns]))
        assert list(item['gt_ignore_flags']) == [a['iscrowd'] for a in anns]
    # the foreground and ignore jsons pair
    paired = BoxPseudoCocoDataset(
        ann_file=osp.join(out, 'fg.json'),
        ignore_ann_file=osp.join(out, 'ignore.json'),
        data_prefix=dict(img=osp.join(COCO128, 'train2017')),
        test_mode=True)
    assert len(paired) == 2

    # CocoMetric: the pseudo-masks scored against themselves are perfect,
    # against the real masks they give a valid COCO mask AP
    samples = _predictions(fg)
    assert _segm_map(osp.join(out, 'fg.json'), classes, samples) == 1.0
    real = _segm_map(str(tmp_path / 'subset.json'), classes, samples)
    assert 0.0 <= real < 1.0
