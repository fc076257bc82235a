# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmwsss.functional import (cam_seed_confusion, cam_seed_confusions,
                               segmentation_scores)


def test_confusion_by_hand():
    # Channel 0 is class 2 (label 3), channel 1 is class 0 (label 1).
    cams = np.array([[[0.9, 0.2, 0.5], [0.5, 0.0, 0.3]],
                     [[0.1, 0.7, 0.5], [0.2, 0.3, 0.3]]], dtype=np.float32)
    keys = np.array([2, 0])
    gt = np.array([[3, 1, 3], [0, 255, 1]])
    # Threshold 0.3: predictions [[3, 1, 3], [3, -, 0]]. Pixel (0, 2) ties
    # the two channels (the first wins) and pixel (1, 2) ties both with the
    # bg plane (bg is first, so it wins).
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[3, 3] = 2  # pixels (0, 0) and (0, 2)
    expected[1, 1] = 1  # pixel (0, 1)
    expected[0, 3] = 1  # pixel (1, 0)
    expected[1, 0] = 1  # pixel (1, 2)
    out = cam_seed_confusion(cams, keys, gt, 0.3, num_classes=4)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    # Torch inputs give the same result.
    np.testing.assert_array_equal(
        cam_seed_confusion(
            torch.from_numpy(cams), torch.from_numpy(keys),
            torch.from_numpy(gt), 0.3, 4), expected)


def test_threshold_in_cam_dtype():
    # float32(0.15) > 0.15 in float64, but the plane is float32 too: bg.
    cams = np.full((1, 1, 1), 0.15, dtype=np.float32)
    out = cam_seed_confusion(cams, [0], np.ones((1, 1), int), 0.15, 2)
    np.testing.assert_array_equal(out, [[0, 0], [1, 0]])


def test_no_classes():
    gt = np.array([[0, 1], [255, 1]])
    out = cam_seed_confusion(np.zeros((0, 2, 2)), np.zeros(0, int), gt, .5, 2)
    np.testing.assert_array_equal(out, [[1, 0], [2, 0]])


def test_sweep_equals_per_threshold():
    rng = np.random.default_rng(0)
    for _ in range(20):
        num, height, width = rng.integers(1, 4), 7, 9
        # Coarse values: ties between channels and with thresholds.
        cams = (rng.integers(0, 6, (num, height, width)) / 5).astype(
            np.float32)
        keys = rng.choice(20, num, replace=False)
        gt = rng.integers(0, 21, (height, width))
        gt[rng.random((height, width)) < 0.2] = 255
        thresholds = [0., 0.15, 0.2, 0.4, 0.6, 1.]
        sweep = cam_seed_confusions(cams, keys, gt, thresholds, 21)
        assert sweep.shape == (6, 21, 21)
        for confusion, threshold in zip(sweep, thresholds):
            np.testing.assert_array_equal(
                confusion, cam_seed_confusion(cams, keys, gt, threshold, 21))
            # Direct argmax over the padded stack.
            plane = np.full((1, height, width), threshold, np.float32)
            pred = np.r_[0, keys + 1][np.concatenate([plane, cams]).argmax(0)]
            valid = gt != 255
            direct = np.bincount(
                gt[valid] * 21 + pred[valid], minlength=21 * 21)
            np.testing.assert_array_equal(confusion.ravel(), direct)


@pytest.mark.parametrize('kwargs, match', [
    (dict(gt=np.full((2, 3), 5)), 'gt holds values'),
    (dict(gt=np.zeros((3, 2), int)), 'gt shape'),
    (dict(keys=np.array([0, 3])), 'keys must lie'),
    (dict(keys=np.array([0])), 'keys must be'),
    (dict(cams=np.zeros((2, 3))), 'cams must be'),
    (dict(cams=np.full((2, 2, 3), np.nan)), 'NaN'),
])
def test_invalid_inputs(kwargs, match):
    inputs = dict(
        cams=np.zeros((2, 2, 3)), keys=np.array([0, 1]),
        gt=np.zeros((2, 3), int))
    inputs.update(kwargs)
    with pytest.raises(ValueError, match=match):
        cam_seed_confusion(**inputs, threshold=0.5, num_classes=4)


def test_segmentation_scores_by_hand():
    confusion = np.array([[3, 1, 0, 0],
                          [2, 4, 0, 0],
                          [0, 0, 0, 0],
                          [1, 0, 0, 0]])
    scores = segmentation_scores(confusion)
    # Class 0: tp 3, row 4, col 6; class 1: tp 4, row 6, col 5;
    # class 2 absent (NaN); class 3: tp 0, row 1, col 0.
    np.testing.assert_allclose(scores['iou'], [3 / 7, 4 / 7, np.nan, 0])
    np.testing.assert_allclose(scores['precision'], [3 / 6, 4 / 5, np.nan, 0])
    np.testing.assert_allclose(scores['recall'], [3 / 4, 4 / 6, np.nan, 0])
    np.testing.assert_allclose(scores['f1'], [6 / 10, 8 / 11, np.nan, 0])
    assert scores['miou'] == pytest.approx((3 / 7 + 4 / 7) / 3)
    assert scores['mean_precision'] == pytest.approx((3 / 6 + 4 / 5) / 3)
    assert scores['mean_recall'] == pytest.approx((3 / 4 + 4 / 6) / 3)
    assert scores['mean_f1'] == pytest.approx((6 / 10 + 8 / 11) / 3)
    assert np.isnan(segmentation_scores(np.zeros((2, 2)))['miou'])
    with pytest.raises(ValueError):
        segmentation_scores(np.zeros((2, 3)))
