# Copyright (c) mmwsss contributors. All rights reserved.
import os.path as osp

import pytest
import torch
from mmengine.dataset import default_collate

from mmwsss.datasets import OoDImageDataset
from mmwsss.models.data_preprocessors import CAMDataPreprocessor

PIPELINE = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.RandomCropPad', crop_size=32),
    dict(type='mmwsss.PackCAMInputs'),
]


def test_reads_the_synthvoc_ood_list(tiny_synthvoc):
    ds = OoDImageDataset(
        data_root=tiny_synthvoc, ann_file='ood_list.txt', pipeline=PIPELINE)
    lines = open(osp.join(tiny_synthvoc, 'ood_list.txt')).read().split()
    assert len(ds) == len(lines) == 2
    info = ds.get_data_info(1)
    assert info['img_path'] == osp.join(tiny_synthvoc, lines[1])
    assert info['img_id'] == osp.splitext(osp.basename(lines[1]))[0]
    item = ds[0]
    assert item['inputs'].shape == (3, 32, 32)
    assert item['data_samples'].gt_label.numel() == 0


def test_ood_batch_gets_all_zero_targets(tiny_synthvoc):
    ds = OoDImageDataset(
        data_root=tiny_synthvoc, ann_file='ood_list.txt', pipeline=PIPELINE)
    pre = CAMDataPreprocessor(num_classes=3, to_onehot=True)
    out = pre(default_collate([ds[0], ds[1]]), True)
    assert out['inputs'].shape == (2, 3, 32, 32)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    assert scores.shape == (2, 3) and not scores.any()


def test_prefix_whitespace_and_errors(tmp_path):
    (tmp_path / 'imgs').mkdir()
    (tmp_path / 'list.txt').write_text('  a/x.jpg \n\nb.png\n')
    ds = OoDImageDataset(
        data_root=str(tmp_path),
        ann_file='list.txt',
        data_prefix=dict(img_path='imgs'))
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == [
        osp.join(str(tmp_path), 'imgs', 'a/x.jpg'),
        osp.join(str(tmp_path), 'imgs', 'b.png')
    ]
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        OoDImageDataset(data_root=str(tmp_path), ann_file='missing.txt')
    (tmp_path / 'empty.txt').write_text('\n \n')
    with pytest.raises(ValueError, match='empty'):
        OoDImageDataset(data_root=str(tmp_path), ann_file='empty.txt')
