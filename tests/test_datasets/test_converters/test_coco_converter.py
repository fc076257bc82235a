# Copyright (c) mmwsss contributors. All rights reserved.
"""COCO 2014 -> WSSS label maps, on a tiny instances json in COCO's format
(polygons, compressed and uncompressed RLE, crowd regions)."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import VOCWSSSDataset
from mmwsss.datasets.converters import convert_coco14_wsss
from mmwsss.fileio import encode_rle, read_label_map

SPLIT = 'val2014'
CATEGORIES = [
    dict(id=1, name='person'),
    dict(id=3, name='car'),
    dict(id=90, name='toothbrush')
]


def _coco(tmp_path):
    root = tmp_path / 'coco2014'
    os.makedirs(root / 'annotations')
    os.makedirs(root / SPLIT)
    images = []
    for i in (1, 2, 3):
        name = f'COCO_{SPLIT}_{i:012d}.jpg'
        images.append(dict(id=i, file_name=name, height=10, width=12))
        Image.new('RGB', (12, 10)).save(root / SPLIT / name)
    crowd = np.zeros((10, 12), np.uint8)
    crowd[6:10, 0:12] = 1
    uncompressed = dict(counts=[0, 20, 100], size=[10, 12])  # columns 0-1
    annotations = [
        # image 1: a car polygon, a toothbrush over it, a crowd of people
        dict(id=1, image_id=1, category_id=3, iscrowd=0,
             segmentation=[[2, 1, 8, 1, 8, 5, 2, 5]]),
        dict(id=2, image_id=1, category_id=90, iscrowd=0,
             segmentation=encode_rle(
                 np.pad(np.ones((2, 2), np.uint8), ((2, 6), (4, 6))))),
        dict(id=3, image_id=1, category_id=1, iscrowd=1,
             segmentation=encode_rle(crowd)),
        # image 2: only a crowd; image 3: an uncompressed-RLE person
        dict(id=4, image_id=2, category_id=1, iscrowd=1,
             segmentation=encode_rle(crowd)),
        dict(id=5, image_id=3, category_id=1, iscrowd=0,
             segmentation=uncompressed),
    ]
    with open(root / 'annotations' / f'instances_{SPLIT}.json', 'w') as f:
        json.dump(
            dict(images=images, annotations=annotations,
                 categories=CATEGORIES), f)
    return str(root)


def test_coco14_label_maps_and_lists(tmp_path):
    root = _coco(tmp_path)
    counts = convert_coco14_wsss(root, SPLIT, progress=False)
    assert counts['images'] == 2 and counts['without_instances'] == 1
    with open(osp.join(root, 'ImageSets', SPLIT + '.txt')) as f:
        assert f.read().split() == [
            f'COCO_{SPLIT}_000000000001', f'COCO_{SPLIT}_000000000003'
        ]
    label = read_label_map(
        osp.join(root, 'SegmentationClass', SPLIT,
                 f'COCO_{SPLIT}_000000000001.png'), 3)
    assert label[3, 3] == 2  # car
    assert label[2, 4] == label[3, 5] == 3  # toothbrush painted later
    assert label[8, 0] == 255  # crowd, no instance
    assert label[0, 0] == 0
    label3 = read_label_map(
        osp.join(root, 'SegmentationClass', SPLIT,
                 f'COCO_{SPLIT}_000000000003.png'), 3)
    assert (label3[:, :2] == 1).all() and (label3[:, 2:] == 0).all()
    with open(osp.join(root, 'meta.json')) as f:
        assert json.load(f)['classes'] == ['person', 'car', 'toothbrush']

    dataset = VOCWSSSDataset(
        data_root=root,
        ann_file=f'ImageSets/{SPLIT}.txt',
        data_prefix=dict(
            img_path=SPLIT, seg_map_path=f'SegmentationClass/{SPLIT}'),
        label_source='seg',
        lazy_init=False)
    assert [d['gt_label'] for d in dataset] == [[1, 2], [0]]
    assert dataset.metainfo['classes'] == ('person', 'car', 'toothbrush')
    assert convert_coco14_wsss(root, SPLIT, progress=False)['unchanged'] == 4


def test_coco14_refuses_unknown_category(tmp_path):
    root = _coco(tmp_path)
    path = osp.join(root, 'annotations', f'instances_{SPLIT}.json')
    with open(path) as f:
        content = json.load(f)
    content['annotations'][0]['category_id'] = 5
    with open(path, 'w') as f:
        json.dump(content, f)
    with pytest.raises(ValueError, match='unknown category 5'):
        convert_coco14_wsss(root, SPLIT, progress=False)
    with pytest.raises(FileNotFoundError, match='train2014'):
        convert_coco14_wsss(root, 'train2014', progress=False)
