# Copyright (c) mmwsss contributors. All rights reserved.
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample

from mmwsss.models.data_preprocessors import CAMDataPreprocessor
from mmwsss.models.utils import per_image_scales, scaled_size

SCALES = (1.0, 0.5, 1.5)


def _item(height, width, label, fill):
    sample = DataSample().set_gt_label(label)
    sample.set_metainfo(dict(ori_shape=(height, width), cam_scales=SCALES))
    inputs = [
        torch.full((3, ) + scaled_size((height, width), s), fill + i,
                   dtype=torch.uint8) for i, s in enumerate(SCALES)
    ]
    return dict(inputs=inputs, data_samples=sample)


def test_loader_batches_are_arranged_per_image():
    # pseudo_collate delivers [scale][image]; three images, three scales
    items = [_item(40, 60, [0], 10), _item(52, 30, [1, 2], 20),
             _item(40, 60, [2], 30)]
    batch = pseudo_collate(items)
    assert len(batch['inputs']) == len(SCALES)
    preprocessor = CAMDataPreprocessor(
        mean=[0., 0., 0.], std=[1., 1., 1.], num_classes=3)
    out = preprocessor(batch)
    for item, scales in zip(items, out['inputs']):
        assert [tuple(s.shape) for s in scales] == \
            [tuple(s.shape) for s in item['inputs']]
        assert [s[0, 0, 0].item() for s in scales] == \
            [s[0, 0, 0].item() for s in item['inputs']]
    assert out['data_samples'][1].gt_label.tolist() == [1, 2]


def test_per_image_scales_keeps_per_image_input_and_rejects_mismatch():
    items = [_item(40, 60, [0], 10), _item(52, 30, [1], 20)]
    samples = [item['data_samples'] for item in items]
    per_image = [item['inputs'] for item in items]
    assert per_image_scales(per_image, samples) == per_image
    with pytest.raises(ValueError, match='cam_scales'):
        per_image_scales([per_image[1], per_image[0]], samples)
