# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmwsss.functional import (box_iou_inclusive, boxes_from_scoremap,
                               max_box_accuracy, normalize_scoremap, pxap,
                               pxap_from_histograms, pxap_gt_mask,
                               pxap_histograms, resize_box, topk_correct,
                               topk_localization)

DATA = Path(__file__).parents[2] / 'data'


def _load(name):
    with np.load(DATA / f'{name}.npz') as data:
        return dict(data)


@pytest.fixture(scope='module')
def cases():
    return _load('wsol_evaluation_test_cases')


@pytest.mark.parametrize('mode', ['single', 'multi'])
def test_boxes_from_scoremaps_golden(mode):
    golden = _load('wsol_boxes_from_scoremaps')
    scoremaps = golden['scoremaps_q'] / golden['scale_q']
    all_boxes, all_counts = [], []
    for scoremap in scoremaps:
        boxes, counts = boxes_from_scoremap(scoremap, golden['thresholds'],
                                            mode == 'multi')
        assert [len(b) for b in boxes] == counts.tolist()
        all_boxes += boxes
        all_counts.append(counts)
    np.testing.assert_array_equal(
        np.stack(all_counts), golden[f'{mode}_counts'])
    np.testing.assert_array_equal(
        np.concatenate(all_boxes), golden[f'{mode}_boxes'])


@pytest.mark.parametrize('name', ['degenerate', 'unimodal', 'multimodal'])
@pytest.mark.parametrize('mode', ['single', 'multi'])
def test_boxes_small_cases(cases, name, mode):
    boxes, counts = boxes_from_scoremap(
        torch.from_numpy(cases[f'small_{name}_scoremap']),
        cases['small_thresholds'], mode == 'multi')
    np.testing.assert_array_equal(counts, cases[f'small_{name}_{mode}_counts'])
    np.testing.assert_array_equal(
        np.concatenate(boxes), cases[f'small_{name}_{mode}_boxes'])


def test_boxes_by_hand():
    scoremap = np.zeros((6, 8))
    scoremap[1:3, 2:5] = 1.0  # 3x2 blob: area 2 as a contour
    scoremap[4, 6] = 0.5  # single pixel: area 0, x + 1 clipped to W - 1
    boxes, counts = boxes_from_scoremap(scoremap, [0., 0.5, 0.99], True)
    np.testing.assert_array_equal(counts, [2, 1, 1])
    assert sorted(boxes[0].tolist()) == [[2, 1, 5, 3], [6, 4, 7, 5]]
    # uint8(0.5 * 255) = 127 is not > int(0.5 * 255) = 127: pixel dropped.
    np.testing.assert_array_equal(boxes[1], [[2, 1, 5, 3]])
    boxes, counts = boxes_from_scoremap(scoremap, [0., 1.], False)
    np.testing.assert_array_equal(counts, [1, 1])
    np.testing.assert_array_equal(boxes[0], [[2, 1, 5, 3]])
    np.testing.assert_array_equal(boxes[1], [[0, 0, 0, 0]])
    for bad in (np.full((3, 3), 1.5), np.full((3, 3), np.nan),
                np.zeros((3, 3), np.uint8), np.zeros(3)):
        with pytest.raises(ValueError):
            boxes_from_scoremap(bad, [0.5], True)


def test_iou_and_resize(cases):
    np.testing.assert_allclose(
        box_iou_inclusive(cases['iou_realistic_a'], cases['iou_realistic_b']),
        cases['iou_realistic_value'], rtol=0, atol=1e-12)
    assert box_iou_inclusive([[1, 2, 5, 6]], [[3, 1, 4, 5]])[0, 0] == 8 / 27
    np.testing.assert_array_equal(
        box_iou_inclusive(cases['iou_eye_boxes'], cases['iou_eye_boxes']),
        cases['iou_eye_value'])
    np.testing.assert_array_equal(
        box_iou_inclusive(np.zeros((3, 4)), np.zeros((5, 4))),
        cases['iou_degenerate_value'])
    with pytest.raises(ValueError):
        box_iou_inclusive([[3, 0, 2, 1]], [[0, 0, 1, 1]])
    for box, size, target, expected in zip(
            cases['resize_cases_box'], cases['resize_cases_image_size_wh'],
            cases['resize_cases_resize_size_wh'],
            cases['resize_cases_expected']):
        np.testing.assert_array_equal(resize_box(box, size, target), expected)
    golden = _load('wsol_maxboxacc')
    resized = [
        resize_box(box, golden['image_sizes_wh'][i]) for box, i in zip(
            golden['gt_boxes_orig'], golden['gt_box_image_index'])
    ]
    np.testing.assert_array_equal(np.stack(resized), golden['gt_boxes_224'])


@pytest.mark.parametrize('grid', ['i01', 'i001'])
def test_max_box_accuracy_golden(grid):
    golden = _load('wsol_maxboxacc')
    scoremaps = list(golden['scoremaps_q'] / golden['scale_q'])
    index = golden['gt_box_image_index']
    gt_boxes = [golden['gt_boxes_224'][index == i] for i in range(40)]
    metrics = {}
    for version, multi_contour in (('v1', False), ('v2', True)):
        result = max_box_accuracy(scoremaps, gt_boxes,
                                  golden[f'thresholds_{grid}'],
                                  golden['iou_threshold_list'], multi_contour)
        prefix = f'{version}_{grid}_'
        np.testing.assert_array_equal(result['num_correct'],
                                      golden[prefix + 'num_correct'])
        np.testing.assert_allclose(
            result['max_box_acc'], golden[prefix + 'max_box_acc'], atol=1e-9)
        np.testing.assert_array_equal(result['best_threshold_index'],
                                      golden[prefix + 'best_threshold_index'])
        if grid == 'i01':
            np.testing.assert_allclose(
                result['best_iou'],
                golden[prefix + 'best_iou_per_image'],
                rtol=0,
                atol=1e-12)
        metrics[version] = result['max_box_acc']
    assert metrics['v1'][1] == pytest.approx(
        float(golden[f'maxboxacc_v1_{grid}']), abs=1e-9)
    assert metrics['v2'].mean() == pytest.approx(
        float(golden[f'maxboxacc_v2_{grid}']), abs=1e-9)


@pytest.mark.parametrize('grid', ['i01', 'i001'])
def test_pxap_golden(grid):
    golden = _load('wsol_pxap')
    scoremaps = list(golden['scoremaps_q'] / golden['scale_q'])
    gt_masks = list(golden['gt_mask'])
    thresholds = golden[f'thresholds_{grid}']
    positive, negative = pxap_histograms(scoremaps, gt_masks, thresholds)
    np.testing.assert_array_equal(positive,
                                  golden[f'gt_true_score_hist_{grid}'])
    np.testing.assert_array_equal(negative,
                                  golden[f'gt_false_score_hist_{grid}'])
    assert pxap_from_histograms(positive, negative) == pytest.approx(
        float(golden[f'pxap_{grid}']), abs=1e-9)
    assert pxap(scoremaps, gt_masks, thresholds) == pytest.approx(
        float(golden[f'pxap_{grid}']), abs=1e-9)
    for i, expected in enumerate(golden[f'pxap_per_image_{grid}']):
        if np.isnan(expected):  # the reference raises: no positive pixel
            with pytest.raises(ValueError, match='No positive'):
                pxap([scoremaps[i]], [gt_masks[i]], thresholds)
        else:
            assert pxap([scoremaps[i]], [gt_masks[i]],
                        thresholds) == pytest.approx(expected, abs=1e-9)


def test_pxap_gt_mask_golden():
    golden = _load('wsol_pxap')
    for i in range(20):
        instances = golden['instance_masks'][i, :golden['instance_count'][i]]
        gt = pxap_gt_mask(instances, golden['ignore_box_masks'][i])
        np.testing.assert_array_equal(gt, golden['gt_mask'][i])
    # 0/255 PNG masks at another size are resized with nearest neighbour.
    mask = np.zeros((4, 4), np.uint8)
    mask[:2, :2] = 255
    ignore = np.full((4, 4), 255, np.uint8)
    np.testing.assert_array_equal(
        pxap_gt_mask([mask], ignore, size=(2, 2)), [[1, 255], [255, 255]])


def test_pxap_shipped_masks(cases):
    thresholds = np.arange(0, 1, 0.001)
    for mask, expected, from_test_file in zip(
            cases['shipped_gt_masks'], cases['shipped_constant_pxap'],
            cases['shipped_expected_pxap_from_test_file']):
        for value, target in zip(cases['shipped_constant_values'], expected):
            score = pxap([np.full((224, 224), value)], [mask], thresholds)
            assert score == pytest.approx(target, abs=1e-9)
            assert score == pytest.approx(from_test_file, abs=0.1)
    with pytest.raises(ValueError, match='0, 1 or 255'):
        pxap([np.zeros((2, 2))], [np.full((2, 2), 2, np.uint8)], thresholds)


def test_normalize_scoremap():
    cam = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = normalize_scoremap(cam, size=(6, 5))
    expected = cv2.resize(
        cam.astype(np.float64), (5, 6), interpolation=cv2.INTER_CUBIC)
    expected = (expected - expected.min()) / (expected - expected.min()).max()
    assert out.dtype == np.float64 and out.shape == (6, 5)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    assert out.min() == 0 and out.max() == 1
    for degenerate in (np.ones((3, 3)), np.array([[np.nan, 1.], [0., 1.]])):
        np.testing.assert_array_equal(
            normalize_scoremap(torch.tensor(degenerate), (4, 4)),
            np.zeros((4, 4)))
    # MoANA: subtract the 65th percentile, divide by the max, clip at 0.
    out = normalize_scoremap(cam, size=(3, 4), percentile=65)
    shifted = cam - np.percentile(cam, 65)
    np.testing.assert_allclose(
        out, np.clip(shifted / shifted.max(), 0, 1), atol=1e-6)
    # Most pixels at the max: the percentile is the max, zeros returned.
    plateau = np.ones((4, 4))
    plateau[0, 0] = 0
    np.testing.assert_array_equal(
        normalize_scoremap(plateau, (4, 4), percentile=65), np.zeros((4, 4)))


def test_topk_localization():
    # 4 images, 3 thresholds; IoU >= 0.5 marks a localized image.
    best_iou = np.array([[0.6, 0.5, 0.1],
                         [0.2, 0.7, 0.9],
                         [0.9, 0.9, 0.4],
                         [0.1, 0.6, 0.6]])
    scores = np.array([[5., 1., 0.],   # gt 0: top-1
                       [1., 1., 0.],   # gt 1: tie with class 0 -> rank 1
                       [0., 2., 1.],   # gt 0: rank 2
                       [3., 2., 1.]])  # gt 1: rank 1
    labels = np.array([0, 1, 0, 1])
    np.testing.assert_array_equal(
        topk_correct(scores, labels, 1), [True, False, False, False])
    np.testing.assert_array_equal(
        topk_correct(scores, labels, 2), [True, True, False, True])
    out = topk_localization(best_iou, scores, labels, 1, topk=(1, 2))
    assert out == dict(
        gt_known_loc=100., gt_known_loc_threshold_index=1,
        top1_loc=25., top1_loc_threshold_index=1,
        top2_loc=75., top2_loc_threshold_index=1)
    out = topk_localization(
        best_iou, torch.from_numpy(scores), labels, 2, topk=(1, 2),
        protocol='moana')
    # Top-1 at the fixed index 2 (image 0 not localized there); the others
    # at their best threshold (index 1: 100 % and 75 %).
    assert out == dict(
        gt_known_loc=100., gt_known_loc_threshold_index=1,
        top1_loc=0., top1_loc_threshold_index=2,
        top2_loc=75., top2_loc_threshold_index=1)
    with pytest.raises(ValueError):
        topk_localization(best_iou, scores, labels, 0, protocol='cub')
