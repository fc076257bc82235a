# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets.transforms import (DownsampleLabel, RandomRescale,
                                        TopLeftCropPad)


def _blocks(h, w):
    # a label of 4 quadrants and an image that copies it
    label = np.zeros((h, w), np.uint8)
    label[:h // 2, w // 2:] = 1
    label[h // 2:, :w // 2] = 2
    label[h // 2:, w // 2:] = 255
    img = np.stack([label] * 3, -1)
    return img, label


def test_random_rescale_sizes_and_alignment():
    np.random.seed(0)
    t = RandomRescale(scale_range=(0.5, 1.5))
    for _ in range(5):
        img, label = _blocks(40, 60)
        out = t(dict(img=img, gt_seg_map=label))
        h, w = out['img'].shape[:2]
        scale = h / 40
        assert 0.49 <= scale <= 1.51 and abs(w - 60 * scale) <= 1
        assert out['gt_seg_map'].shape == (h, w)
        assert out['img_shape'] == (h, w)
        # nearest neighbour keeps label values, quadrants stay put
        assert set(np.unique(out['gt_seg_map'])) == {0, 1, 2, 255}
        assert out['gt_seg_map'][0, -1] == 1 and out['gt_seg_map'][-1, 0] == 2


def test_random_rescale_rounds_half_to_even():
    t = RandomRescale(scale_range=(0.5, 0.5))
    out = t(dict(img=np.zeros((375, 333, 3), np.uint8)))
    assert out['img'].shape[:2] == (188, 166)
    with pytest.raises(ValueError):
        RandomRescale(scale_range=(1.5, 0.5))


def test_downsample_label_is_pil_nearest():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, (512, 512)).astype(np.uint8)
    img = np.zeros((512, 512, 3), np.uint8)
    out = DownsampleLabel(scale=0.25)(dict(img=img, gt_seg_map=label))
    ref = np.asarray(Image.fromarray(label).resize((128, 128), Image.NEAREST))
    assert np.array_equal(out['gt_seg_map'], ref)
    assert out['img'] is img


def test_top_left_crop_pad():
    img, label = _blocks(6, 20)
    out = TopLeftCropPad(
        crop_size=8, pad_val=(1, 2, 3))(
            dict(img=img, gt_seg_map=label))
    assert out['img'].shape == (8, 8, 3) and out['img_shape'] == (8, 8)
    assert np.array_equal(out['img'][:6], img[:, :8])
    assert (out['img'][6:] == [1, 2, 3]).all()
    assert np.array_equal(out['gt_seg_map'][:6], label[:, :8])
    assert (out['gt_seg_map'][6:] == 255).all()
