# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmdet.structures.bbox import HorizontalBoxes

from mmwsss.datasets.transforms import JitterBoxes
from mmwsss.registry import TRANSFORMS

BOXES = np.array([[10., 20., 50., 60.], [0., 0., 100., 30.]], np.float32)


def _results(name='img_1', boxes=BOXES):
    return dict(
        gt_bboxes=HorizontalBoxes(torch.from_numpy(boxes.copy())),
        img_shape=(80, 100),
        img_path=f'data/JPEGImages/{name}.jpg')


def _boxes(results):
    return results['gt_bboxes'].tensor.numpy()


def test_checks_and_zero_ratio_keeps_the_boxes():
    for bad in (dict(ratio=-0.1), dict(ratio=1.0),
                dict(ratio=0.1, mode='grow'),
                dict(ratio=0.5, mode='shrink')):
        with pytest.raises(ValueError):
            JitterBoxes(**bad)
    transform = TRANSFORMS.build(dict(type='mmwsss.JitterBoxes', ratio=0.0))
    assert np.array_equal(_boxes(transform(_results())), BOXES)


@pytest.mark.parametrize('mode', JitterBoxes.MODES)
def test_moves_within_the_ratio_clipped_to_the_image(mode):
    transform = JitterBoxes(ratio=0.2, mode=mode)
    out = transform(_results())
    assert isinstance(out['gt_bboxes'], HorizontalBoxes)
    boxes = _boxes(out)
    assert boxes.dtype == np.float32
    assert not np.allclose(boxes, BOXES)
    size = np.tile(BOXES[:, 2:] - BOXES[:, :2], 2)
    moved = boxes - BOXES
    assert (np.abs(moved) <= 0.2 * size + 1e-4).all()
    assert (boxes[:, 0::2] >= 0).all() and (boxes[:, 0::2] <= 100).all()
    assert (boxes[:, 1::2] >= 0).all() and (boxes[:, 1::2] <= 80).all()
    inner = BOXES[0]  # far enough from the border not to be clipped
    area = np.prod(boxes[0, 2:] - boxes[0, :2])
    if mode == 'expand':
        assert area > np.prod(inner[2:] - inner[:2])
    if mode == 'shrink':
        assert area < np.prod(inner[2:] - inner[:2])


def test_same_image_same_noise_whatever_the_order():
    transform = JitterBoxes(ratio=0.2, seed=3)
    first = _boxes(transform(_results('a')))
    _boxes(transform(_results('b')))
    assert np.array_equal(_boxes(transform(_results('a'))), first)
    assert not np.array_equal(_boxes(transform(_results('b'))), first)
    other_seed = _boxes(JitterBoxes(ratio=0.2, seed=4)(_results('a')))
    assert not np.array_equal(other_seed, first)
