# Copyright (c) mmwsss contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import IRLabelDataset
from mmwsss.evaluation.writers import save_label_png


def _ids(root):
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt')) as f:
        return f.read().split()


def test_items_point_to_the_ir_labels(tiny_synthvoc, tmp_path):
    ids = _ids(tiny_synthvoc)
    sizes = {}
    for img_id in ids:
        with Image.open(
                osp.join(tiny_synthvoc, 'JPEGImages', img_id + '.jpg')) as img:
            sizes[img_id] = img.size[::-1]
        save_label_png(
            str(tmp_path / f'{img_id}.png'), np.zeros(sizes[img_id],
                                                      np.uint8))
    dataset = IRLabelDataset(
        data_root=tiny_synthvoc,
        ann_file='ImageSets/Segmentation/train.txt',
        ir_label_dir=str(tmp_path),
        pipeline=[
            dict(type='mmwsss.LoadImageRGB'),
            dict(type='mmwsss.LoadLabelMap', num_classes=3)
        ])
    assert len(dataset) == len(ids)
    assert len(dataset.metainfo['classes']) == 3  # from meta.json
    item = dataset[0]
    assert item['img_path'] == osp.join(tiny_synthvoc, 'JPEGImages',
                                        ids[0] + '.jpg')
    assert item['seg_map_path'] == str(tmp_path / f'{ids[0]}.png')
    assert item['gt_seg_map'].shape == sizes[ids[0]]


def test_missing_ir_labels_are_reported(tiny_synthvoc, tmp_path):
    with pytest.raises(FileNotFoundError, match='IR labels are missing'):
        IRLabelDataset(
            data_root=tiny_synthvoc,
            ann_file='ImageSets/Segmentation/train.txt',
            ir_label_dir=str(tmp_path))
