# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import torch
from mmpretrain.structures import DataSample

from mmwsss.datasets.transforms import (MultiScaleResize, PackCAMInputs,
                                        RandomCropPad, RandomLongSideResize)


def test_random_crop_pad_places_small_images_in_a_canvas():
    np.random.seed(0)
    img = np.full((5, 7, 3), 200, np.uint8)
    seg = np.ones((5, 7), np.uint8)
    out = RandomCropPad(crop_size=10, pad_val=(1, 2, 3))(
        dict(img=img, gt_seg_map=seg))
    assert out['img'].shape == (10, 10, 3)
    # the whole image is inside the canvas, the rest is the fill value
    assert (out['img'][..., 0] == 200).sum() == 35
    assert (out['gt_seg_map'] == 1).sum() == 35
    assert (out['gt_seg_map'] == 255).sum() == 100 - 35
    pad = out['img'][out['gt_seg_map'] == 255]
    assert (pad == [1, 2, 3]).all()
    # image and label stay aligned
    assert ((out['img'][..., 0] == 200) == (out['gt_seg_map'] == 1)).all()


def test_random_crop_pad_crops_large_images():
    np.random.seed(1)
    img = np.arange(20 * 30, dtype=np.int64).reshape(20, 30)
    img = np.stack([img % 256] * 3, -1).astype(np.uint8)
    out = RandomCropPad(crop_size=8)(dict(img=img))
    crop = out['img'][..., 0]
    # a contiguous window of the image
    y, x = np.argwhere((img[..., 0] == crop[0, 0]))[0]
    assert (img[y:y + 8, x:x + 8, 0] == crop).all()


def test_random_long_side_resize_range():
    np.random.seed(2)
    t = RandomLongSideResize(long_side_range=(40, 41))
    for _ in range(5):
        out = t(dict(img=np.zeros((30, 60, 3), np.uint8),
                     gt_seg_map=np.zeros((30, 60), np.uint8)))
        h, w = out['img'].shape[:2]
        assert w in (40, 41) and h == round(30 * w / 60)
        assert out['gt_seg_map'].shape == (h, w)


def test_multi_scale_sizes_round_half_even():
    img = np.zeros((375, 333, 3), np.uint8)
    out = MultiScaleResize(scales=(1.0, 0.5, 1.5))(dict(img=img))
    sizes = [im.shape[:2] for im in out['ms_imgs']]
    # 375 * 0.5 = 187.5 -> 188 and 333 * 0.5 = 166.5 -> 166 (half to even)
    assert sizes == [(375, 333), (188, 166), (562, 500)]
    assert out['ms_imgs'][0] is img


def test_pack_cam_inputs():
    img = np.random.randint(0, 255, (6, 8, 3), np.uint8)
    results = dict(
        img=img,
        ms_imgs=[img, img[::2, ::2]],
        gt_label=[2, 0],
        gt_seg_map=np.zeros((6, 8), np.uint8),
        img_path='a/b.jpg',
        ori_shape=(6, 8))
    packed = PackCAMInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert isinstance(inputs, list) and inputs[1].shape == (3, 3, 4)
    assert torch.equal(inputs[0], torch.from_numpy(img).permute(2, 0, 1))
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [2, 0]
    assert sample.gt_sem_seg.data.shape == (1, 6, 8)
    assert sample.img_path == 'a/b.jpg' and sample.ori_shape == (6, 8)
