# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest

from mmwsss.datasets.transforms import (DSRGSeedsFromCAM, LoadSaliencyMap,
                                        SaliencyIgnore)
from mmwsss.fileio import write_saliency_map
from mmwsss.functional import saliency_ignore
from mmwsss.registry import TRANSFORMS


def test_saliency_ignore_rule():
    label = np.array([[0, 0, 3, 3, 255], [0, 2, 2, 255, 0]], np.uint8)
    saliency = np.array([[0.0, 0.9, 0.9, 0.1, 0.9],
                         [0.5, 0.49, 0.5, 0.0, 0.2]], np.float32)
    out = saliency_ignore(label, saliency, threshold=0.5)
    expected = np.array(
        [
            # bg agrees, bg on salient -> ignore, fg on salient kept,
            # fg on non-salient -> ignore, ignore stays ignore
            [0, 255, 3, 255, 255],
            # 0.5 counts as salient; 0.49 does not
            [255, 255, 2, 255, 0]
        ],
        np.uint8)
    np.testing.assert_array_equal(out, expected)
    # The input is not modified.
    assert label[0, 1] == 0


def test_load_saliency_and_ignore(tmp_path):
    write_saliency_map(
        str(tmp_path / 'img1.png'),
        np.array([[255, 0], [255, 0]], np.uint8))
    load = TRANSFORMS.build(
        dict(type='mmwsss.LoadSaliencyMap', saliency_dir=str(tmp_path)))
    assert isinstance(load, LoadSaliencyMap)
    results = load(
        dict(
            img_id='img1',
            ori_shape=(2, 2),
            gt_seg_map=np.array([[1, 1], [0, 0]], np.uint8)))
    np.testing.assert_array_equal(results['saliency'], [[1, 0], [1, 0]])
    results = SaliencyIgnore()(results)
    np.testing.assert_array_equal(results['gt_seg_map'],
                                  [[1, 255], [255, 0]])
    with pytest.raises(ValueError, match='img1.png'):
        load(dict(img_id='img1', ori_shape=(3, 2)))


def test_dsrg_seeds_from_cam():
    cams = np.zeros((1, 3, 4), np.float32)
    cams[0, 0] = 1.0
    results = dict(cam_keys=np.array([4]), cam_high_res=cams)
    seeds = DSRGSeedsFromCAM(fg_threshold=0.2, bg_threshold=0.05)(
        dict(results))
    np.testing.assert_array_equal(seeds['gt_seg_map'][:, 0], [5, 0, 0])
    assert seeds['seg_fields'] == ['gt_seg_map']
    cams[0, 1] = 0.1
    saliency = np.zeros((3, 4), np.float32)
    saliency[1:, 2:] = 1.0
    seeds = DSRGSeedsFromCAM()(dict(results, saliency=saliency))
    np.testing.assert_array_equal(
        seeds['gt_seg_map'],
        [[5, 5, 5, 5], [0, 0, 255, 255], [0, 0, 255, 255]])
