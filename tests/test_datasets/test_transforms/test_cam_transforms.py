# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsss.datasets.transforms import (LoadCAMFile, MultiScaleResize,
                                        PackCAMInputs, RandomCropPad,
                                        RandomLongSideResize)
from mmwsss.fileio import write_cam_file


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


def test_load_cam_file_feeds_the_data_sample(tmp_path):
    keys = np.array([0, 3])
    high_res = np.random.default_rng(0).random((2, 9, 13), dtype=np.float32)
    strided = high_res[:, ::4, ::4]
    write_cam_file(str(tmp_path / 'im7.npz'), keys, strided, high_res)
    results = dict(
        img_id='im7', img=np.zeros((9, 13, 3), np.uint8), ori_shape=(9, 13))
    loader = LoadCAMFile(str(tmp_path), arrays=('keys', 'strided'))
    assert 'arrays=(\'keys\', \'strided\')' in repr(loader)
    results = loader(results)
    assert 'cam_high_res' not in results
    np.testing.assert_array_equal(results['cam_strided'], strided)
    sample = PackCAMInputs()(results)['data_samples']
    assert sample.cam_keys.dtype == torch.int64
    assert torch.equal(sample.cam_keys, torch.tensor([0, 3]))
    assert torch.equal(sample.cam_strided, torch.from_numpy(strided))
    assert 'cam_high_res' not in sample
    # the file is found by the image's stem without img_id, and the maps
    # must fit the image
    with pytest.raises(ValueError, match=r'im7\.npz: high_res maps'):
        LoadCAMFile(str(tmp_path), ('keys', 'high_res'))(
            dict(img_path='JPEGImages/im7.jpg', ori_shape=(9, 12)))
    with pytest.raises(FileNotFoundError, match='im8.npz'):
        LoadCAMFile(str(tmp_path), ('keys', ))(dict(img_id='im8'))
    with pytest.raises(ValueError, match='arrays must be some of'):
        LoadCAMFile(str(tmp_path), ('keys', 'edge'))


def test_pack_without_an_image_packs_the_annotations():
    packed = PackCAMInputs()(
        dict(img_id='a', gt_seg_map=np.zeros((3, 4), np.uint8),
             cam_keys=np.array([1])))
    assert 'inputs' not in packed
    assert packed['data_samples'].gt_sem_seg.shape == (3, 4)
    assert packed['data_samples'].cam_keys.tolist() == [1]
