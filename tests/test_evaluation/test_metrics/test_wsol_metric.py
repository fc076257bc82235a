# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.structures import DataSample

from mmwsss.evaluation import WSOLMetric
from mmwsss.evaluation.functional import (best_mean_iou, max_box_accuracy,
                                          normalize_scoremap, pxap,
                                          resize_box, topk_localization)

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


def _iou_with_gt(box):
    """Inclusive-pixel IoU of ``box`` with the GT box at 224 x 224."""
    gt = [50, 60, 150, 120]
    iw = min(box[2], gt[2]) - max(box[0], gt[0]) + 1
    ih = min(box[3], gt[3]) - max(box[1], gt[1]) + 1
    inter = max(iw, 0) * max(ih, 0)

    def area(b):
        return (b[2] - b[0] + 1) * (b[3] - b[1] + 1)

    return inter / (area(box) + area(gt) - inter)


def test_rfga_largest_contour_accuracies_per_iou_and_their_mean():
    exact = _data_sample(_rect_map(), 0, _scores([0]))
    # region rows 60..104: box [50, 60, 150, 105], IoU 4646 / 6161 = 0.754
    short = np.zeros((224, 224))
    short[60:105, 50:150] = 1.
    assert _iou_with_gt([50, 60, 150, 105]) == pytest.approx(4646 / 6161)
    out = _evaluate([exact, _data_sample(short, 0, _scores([0]))],
                    cam_curve_interval=0.01,
                    protocol='rfga')
    assert [out[f'wsol/MaxBoxAcc_IoU{d}']
            for d in (50, 60, 70, 80, 90)] == [100., 100., 100., 50., 50.]
    assert out['wsol/MaxBoxAccRFGA'] == pytest.approx(80.)
    assert out['wsol/mIoU'] == pytest.approx((1 + 4646 / 6161) / 2 * 100,
                                             abs=1e-4)
    assert not any('MaxBoxAccV2' in key for key in out)


def test_rfga_uses_the_largest_contour_only():
    # A larger blob away from the GT box: all-contour boxes (the old config's
    # MaxBoxAccV2_IoU50) would count the GT-sized blob, RFGA's boxes do not.
    scoremap = _rect_map()
    scoremap[150:220, 0:200] = 1.
    sample = _data_sample(scoremap, 0, _scores([0]))
    rfga = _evaluate([sample], cam_curve_interval=0.01, protocol='rfga')
    assert rfga['wsol/MaxBoxAcc_IoU50'] == 0.
    all_contours = _evaluate([sample],
                             cam_curve_interval=0.01,
                             iou_thresholds=(50, 60, 70, 80, 90))
    assert all_contours['wsol/MaxBoxAccV2_IoU50'] == 100.


def test_rfga_miou_takes_one_threshold_for_all_images():
    # A: GT box on a 0.3 background: the whole image (IoU a) for tau <= 0.29,
    #    the GT box (IoU 1) from 0.30.
    # B: the GT box at 0.2 with a small core at 1: IoU 1 for tau <= 0.19,
    #    the core (IoU c) from 0.20.
    # Each image's own best is 1, but one tau for both gives
    # max((a + 1) / 2, (a + c) / 2, (1 + c) / 2) = (a + 1) / 2.
    a = _iou_with_gt([0, 0, 223, 223])
    core = _rect_map() * 0.2
    core[80:90, 90:110] = 1.
    c = _iou_with_gt([90, 80, 110, 90])
    assert (a + 1) / 2 > (1 + c) / 2
    out = _evaluate([
        _data_sample(_rect_map(0.3), 0, _scores([0])),
        _data_sample(core, 0, _scores([0]))
    ],
                    cam_curve_interval=0.01,
                    protocol='rfga')
    assert out['wsol/mIoU'] == pytest.approx((a + 1) / 2 * 100, abs=1e-4)
    assert out['wsol/MaxBoxAcc_IoU50'] == 50.


def test_rfga_matches_the_functional_metrics():
    maps, boxes, boxes224, _, scores, labels, shapes = _random_case(10, 4)
    metric = WSOLMetric(cam_curve_interval=0.01, protocol='rfga')
    metric.process(None, [
        dict(
            cam_gt=torch.from_numpy(maps[i]),
            gt_label=torch.tensor([labels[i]]),
            pred_score=torch.from_numpy(scores[i]),
            gt_bboxes=torch.from_numpy(boxes[i]),
            ori_shape=shapes[i]) for i in range(len(maps))
    ])
    out = metric.compute_metrics(metric.results)
    deltas = (50, 60, 70, 80, 90)
    v1 = max_box_accuracy(
        maps, boxes224, np.arange(0, 1, 0.01), deltas, multi_contour=False)
    for delta, acc in zip(deltas, v1['max_box_acc']):
        assert out[f'MaxBoxAcc_IoU{delta}'] == acc
    assert out['MaxBoxAccRFGA'] == pytest.approx(v1['max_box_acc'].mean())
    assert out['mIoU'] == pytest.approx(
        best_mean_iou(v1['best_iou'])[0], abs=1e-4)
    assert 0 < out['MaxBoxAcc_IoU50'] < 100


def test_best_mean_iou_by_hand():
    assert best_mean_iou(np.array([[0.2, 0.9], [0.6, 0.4]])) == (
        pytest.approx(65.), 1)
    # ties: the first threshold
    assert best_mean_iou(np.array([[0.2, 0.8], [0.8, 0.2]]))[1] == 0


def test_moana_top1_at_the_fixed_threshold_others_at_their_best():
    # 0.3 background: at tau = 0.04 the box is the whole image (a miss), the
    # GT box from tau = 0.30.
    sample = _data_sample(_rect_map(0.3), 0, _scores([0, 1]))
    sample.set_metainfo(dict(cam_percentile=65))
    moana = _evaluate([sample], cam_curve_interval=0.01, protocol='moana')
    assert moana['wsol/cam_threshold'] == pytest.approx(0.04)
    assert moana['wsol/Top1Loc'] == 0.
    assert moana['wsol/GTKnownLoc'] == 100. and moana['wsol/Top5Loc'] == 100.
    assert moana['wsol/MaxBoxAccMoANA'] == pytest.approx(100.)
    sample.set_metainfo(dict(cam_percentile=None))
    standard = _evaluate([sample], cam_curve_interval=0.01)
    assert standard['wsol/Top1Loc'] == 100.


def test_moana_fixed_threshold_variant_puts_every_loc_at_it():
    sample = _data_sample(_rect_map(0.3), 0, _scores([0, 1]))
    sample.set_metainfo(dict(cam_percentile=65))
    fixed = _evaluate([sample],
                      cam_curve_interval=0.01,
                      protocol='moana',
                      best_threshold_per_metric=False)
    assert fixed['wsol/cam_threshold'] == pytest.approx(0.04)
    assert fixed['wsol/Top1Loc'] == 0.
    assert fixed['wsol/GTKnownLoc'] == 0. and fixed['wsol/Top5Loc'] == 0.
    # the oracle metric is unchanged
    assert fixed['wsol/MaxBoxAccMoANA'] == pytest.approx(100.)


@pytest.mark.parametrize('protocol,percentile,match', [
    ('moana', None, 'expects 65th-percentile score maps, got min-max'),
    ('standard', 65, 'expects min-max score maps, got 65th-percentile'),
    ('rfga', 65, 'expects min-max'),
])
def test_protocol_refuses_maps_normalised_for_another(protocol, percentile,
                                                     match):
    sample = _data_sample(_rect_map(), 0, _scores([0]))
    sample.set_metainfo(dict(cam_percentile=percentile))
    with pytest.raises(ValueError, match=match):
        _evaluate([sample], protocol=protocol)
