# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmwsss.evaluation import IRLabelMetric, PseudoMaskMetric
from mmwsss.functional import segmentation_scores


def _sample(pred, gt):
    return dict(
        pred_sem_seg=dict(data=torch.tensor(pred, dtype=torch.uint8)[None]),
        gt_sem_seg=dict(data=torch.tensor(gt, dtype=torch.uint8)[None]))


def _run(metric, samples):
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process(None, samples)
    return metric.compute_metrics(metric.results)


def test_ir_label_metric():
    gt = [[0, 0, 1, 1, 2, 255]]
    pred = [[0, 255, 1, 2, 255, 1]]
    scores = _run(IRLabelMetric(), [_sample(pred, gt)])
    # 5 valid pixels, 3 labelled: 0 (ok), 1 (ok), 2 (wrong; gt 1)
    assert scores['labelled'] == pytest.approx(60)
    assert scores['precision'] == pytest.approx(200 / 3)
    assert scores['bg_precision'] == pytest.approx(100)
    assert scores['fg_precision'] == pytest.approx(50)
    # gt fg pixels: 3, labelled with their class: 1
    assert scores['fg_labelled'] == pytest.approx(100 / 3)
    # per-class precision among labelled: bg 1, a 1, b 0
    assert scores['mPrecision'] == pytest.approx(200 / 3)


def test_pseudo_mask_metric_counts_255_as_background():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 3, (2, 6, 7))
    pred = rng.integers(0, 3, (2, 6, 7))
    gt[0, 0] = 255
    pred[1, 1] = 255
    scores = _run(PseudoMaskMetric(),
                  [_sample(p, g) for p, g in zip(pred, gt)])
    pred = np.where(pred == 255, 0, pred)
    valid = gt != 255
    confusion = np.zeros((3, 3), np.int64)
    np.add.at(confusion, (gt[valid], pred[valid]), 1)
    ref = segmentation_scores(confusion)
    assert scores['mIoU'] == pytest.approx(ref['miou'] * 100)
    assert scores['mRecall'] == pytest.approx(ref['mean_recall'] * 100)
    assert scores['aAcc'] == pytest.approx(
        np.trace(confusion) / confusion.sum() * 100)


def test_metrics_reject_unknown_labels_and_shapes():
    with pytest.raises(ValueError, match='outside'):
        _run(PseudoMaskMetric(), [_sample([[7]], [[0]])])
    with pytest.raises(ValueError, match='shape'):
        _run(IRLabelMetric(), [_sample([[0, 0]], [[0]])])
