# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from mmwsss.evaluation import WSOLMetric
from mmwsss.evaluation.functional import (max_box_accuracy, normalize_scoremap,
                                          pxap, resize_box, topk_localization)

# Original image 336 wide x 448 high: x scales by 2/3, y by 1/2, so the box
# [75, 120, 225, 240] becomes exactly [50, 60, 150, 120] at 224 x 224.
ORI_SHAPE = (448, 336)
GT_BOX = [75., 120., 225., 240.]


def _rect_map(background=0.):
    """A score map whose largest-contour box is exactly [50, 60, 150, 120]
    (the reference boxes end one pixel after the region)."""
    scoremap = np.full((224, 224), background)
    scoremap[60:120, 50:150] = 1.
    return scoremap


def _scores(order):
    """Class scores ranking the classes in ``order`` (best first)."""
    scores = torch.zeros(6)
    scores[list(order)] = torch.linspace(0.5, 0.1, len(order))
    return scores


def _data_sample(scoremap, label, scores, boxes=(GT_BOX, ), mask=None):
    sample = DataSample().set_gt_label(label).set_pred_score(scores)
    sample.set_metainfo(dict(ori_shape=ORI_SHAPE, img_path=f'img{label}.jpg'))
    sample.cam_gt = torch.from_numpy(scoremap)
    if boxes is not None:
        sample.gt_bboxes = torch.tensor(boxes, dtype=torch.float32)
    if mask is not None:
        sample.gt_mask = torch.from_numpy(mask)
    return sample


def _evaluate(samples, **kwargs):
    evaluator = Evaluator(WSOLMetric(**kwargs))
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def test_perfect_cams_and_the_role_of_the_top1_class():
    good = _data_sample(_rect_map(), 2, _scores([2, 0, 1]))
    # right box, wrong top-1 class; the GT class is 2nd
    wrong = _data_sample(_rect_map(), 3, _scores([1, 3, 0]))
    out = _evaluate([good, wrong], cam_curve_interval=0.01)
    for key in ('MaxBoxAcc', 'MaxBoxAccV2', 'MaxBoxAccV2_IoU70', 'GTKnownLoc',
                'Top5Loc', 'Top5Cls'):
        assert out[f'wsol/{key}'] == 100.
    assert out['wsol/Top1Loc'] == 50.
    assert out['wsol/Top1Cls'] == 50.
    out = _evaluate([wrong], cam_curve_interval=0.01)
    assert out['wsol/Top1Loc'] == 0.
    assert out['wsol/GTKnownLoc'] == 100.


def test_box_in_the_wrong_place_counts_as_a_miss():
    good = _data_sample(_rect_map(), 0, _scores([0]))
    moved = _data_sample(np.roll(_rect_map(), 100, axis=1), 0, _scores([0]))
    out = _evaluate([good, moved], cam_curve_interval=0.01)
    assert out['wsol/MaxBoxAcc'] == 50.
    assert out['wsol/Top1Loc'] == 50.


def test_only_v2_sees_a_smaller_second_blob():
    scoremap = _rect_map()
    scoremap[150:220, 0:200] = 1.  # a larger blob away from the GT box
    out = _evaluate([_data_sample(scoremap, 0, _scores([0]))],
                    cam_curve_interval=0.01)
    assert out['wsol/MaxBoxAcc'] == 0. and out['wsol/GTKnownLoc'] == 0.
    assert out['wsol/MaxBoxAccV2'] == 100.


def test_cam_threshold_is_fixed_or_the_oracle():
    # 0.3 everywhere else: below tau = 0.30 the box is the whole image
    samples = [_data_sample(_rect_map(0.3), 0, _scores([0]))]
    oracle = _evaluate(samples, cam_curve_interval=0.01)
    assert oracle['wsol/MaxBoxAcc'] == 100.
    assert oracle['wsol/cam_threshold'] == pytest.approx(0.30)
    assert oracle['wsol/Top1Loc'] == 100.
    low = _evaluate(samples, cam_curve_interval=0.01, cam_threshold=0.1)
    assert low['wsol/MaxBoxAcc'] == 100.
    assert low['wsol/GTKnownLoc'] == 0. and low['wsol/Top1Loc'] == 0.
    high = _evaluate(samples, cam_curve_interval=0.001, cam_threshold=0.5)
    assert high['wsol/GTKnownLoc'] == 100.
    assert high['wsol/cam_threshold'] == pytest.approx(0.5)


def test_invalid_options():
    with pytest.raises(ValueError, match='not on the grid'):
        WSOLMetric(cam_curve_interval=0.01, cam_threshold=0.125)
    with pytest.raises(ValueError, match='include 50'):
        WSOLMetric(iou_thresholds=(30, 70))
    with pytest.raises(ValueError, match='protocol'):
        WSOLMetric(protocol='cub')
    with pytest.raises(ValueError, match=r'img0.jpg: score map values'):
        _evaluate([_data_sample(_rect_map() * 2, 0, _scores([0]))])
    with pytest.raises(ValueError, match=r'cam_gt must be an \(H, W\)'):
        _evaluate([_data_sample(_rect_map()[None], 0, _scores([0]))])
    with pytest.raises(ValueError, match='gt_bboxes or gt_mask'):
        _evaluate([_data_sample(_rect_map(), 0, _scores([0]), boxes=None)])


def _random_case(num_images, seed):
    rng = np.random.default_rng(seed)
    maps, boxes, boxes224, masks, scores, labels, shapes = ([]
                                                            for _ in range(7))
    yy, xx = np.mgrid[:28, :28] + 0.5
    for _ in range(num_images):
        h, w = rng.integers(100, 400, size=2)
        x0, x1 = np.sort(rng.uniform(0, w, 2))
        y0, y1 = np.sort(rng.uniform(0, h, 2))
        extra = [0, 0, w / 3, h / 3]
        image_boxes = np.array([[x0, y0, x1, y1], extra], np.float32)
        boxes.append(image_boxes[:rng.integers(1, 3)])
        boxes224.append(resize_box(boxes[-1], (w, h)))
        # a noisy blob near the first box: IoUs of all sizes
        cx, cy = (x0 + x1) / 2 * 28 / w, (y0 + y1) / 2 * 28 / h
        sx, sy = (x1 - x0) / 4 * 28 / w + 1, (y1 - y0) / 4 * 28 / h + 1
        blob = np.exp(-((xx - cx) / sx)**2 / 2 - ((yy - cy) / sy)**2 / 2)
        maps.append(normalize_scoremap(blob + rng.random((28, 28)) * 0.5))
        mask = (maps[-1] > rng.random()).astype(np.uint8)
        mask[rng.random((224, 224)) < 0.05] = 255
        masks.append(mask)
        scores.append(rng.random(6))
        labels.append(int(rng.integers(6)))
        if rng.random() < 0.5:
            scores[-1][labels[-1]] = 1.
        shapes.append((int(h), int(w)))
    return maps, boxes, boxes224, masks, np.array(scores), labels, shapes


@pytest.mark.parametrize('protocol', ['standard', 'moana'])
def test_matches_the_functional_metrics(protocol):
    maps, boxes, boxes224, masks, scores, labels, shapes = _random_case(
        10, seed=3)
    metric = WSOLMetric(
        cam_curve_interval=0.01,
        protocol=protocol,
        cam_threshold=0.5 if protocol == 'standard' else None)
    samples = []
    for i in range(len(maps)):
        samples.append(
            dict(
                cam_gt=torch.from_numpy(maps[i]),
                gt_label=torch.tensor([labels[i]]),
                pred_score=torch.from_numpy(scores[i]),
                gt_bboxes=torch.from_numpy(boxes[i]),
                gt_mask=torch.from_numpy(masks[i]),
                ori_shape=shapes[i]))
    metric.process(None, samples)
    # per-image results are small: no score map is kept
    assert max(sum(v.nbytes for v in r.values())
               for r in metric.results) < 1000
    out = metric.compute_metrics(metric.results)

    thresholds = np.arange(0, 1, 0.01)
    v1 = max_box_accuracy(maps, boxes224, thresholds, multi_contour=False)
    v2 = max_box_accuracy(maps, boxes224, thresholds, multi_contour=True)
    assert out['MaxBoxAcc'] == v1['max_box_acc'][1]
    for i, delta in enumerate((30, 50, 70)):
        assert out[f'MaxBoxAccV2_IoU{delta}'] == v2['max_box_acc'][i]
    assert out['MaxBoxAccV2'] == pytest.approx(v2['max_box_acc'].mean())
    assert out['PxAP'] == pytest.approx(pxap(maps, masks, thresholds))
    expected = topk_localization(
        v1['best_iou'],
        scores,
        labels,
        threshold_index=50 if protocol == 'standard' else 4,
        protocol=protocol)
    for key, name in (('top1_loc', 'Top1Loc'), ('top5_loc', 'Top5Loc'),
                      ('gt_known_loc', 'GTKnownLoc')):
        assert out[name] == pytest.approx(expected[key])
    if protocol == 'moana':
        assert out['MaxBoxAccMoANA'] == pytest.approx(v1['max_box_acc'].mean())
    # the case is not degenerate
    assert 0 < out['MaxBoxAccV2_IoU50'] < 100
    assert expected['gt_known_loc'] > 0
    if protocol == 'standard':
        assert 0 < expected['top1_loc'] < expected['gt_known_loc']


def test_masks_without_boxes_give_pxap_only():
    mask = np.zeros((224, 224), np.uint8)
    mask[60:120, 50:150] = 1
    mask[0, :] = 255
    perfect = _data_sample(_rect_map(), 0, _scores([0]), boxes=None, mask=mask)
    out = _evaluate([perfect], cam_curve_interval=0.01)
    assert out['wsol/PxAP'] == pytest.approx(100.)
    assert 'wsol/MaxBoxAcc' not in out
