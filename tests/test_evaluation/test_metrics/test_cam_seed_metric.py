# Copyright (c) mmwsss contributors. All rights reserved.
import json

import numpy as np
import pytest

from mmwsss.evaluation import CAMSeedMetric


def _sample(cams, keys, gt):
    return dict(
        cam_high_res=np.asarray(cams, np.float32),
        cam_keys=np.asarray(keys),
        gt_sem_seg=dict(data=np.asarray(gt)[None]))


def test_hand_checked_sweep(tmp_path):
    # 1x4 image: gt = [bg, c1, c1, ignore]; one CAM (class 0 -> label 1)
    gt = [[0, 1, 1, 255]]
    cams = [[[0.2, 0.5, 0.1, 0.9]]]
    metric = CAMSeedMetric(
        thresholds=[0.05, 0.3, 0.6], out_file=str(tmp_path / 'r.json'))
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process(None, [_sample(cams, [0], gt)])
    out = metric.compute_metrics(metric.results)
    # t=0.05: pred [1,1,1] -> bg IoU 0/1, a IoU 2/3          -> mIoU 1/3
    # t=0.3 : pred [0,1,0] -> bg IoU 1/2, a IoU 1/2          -> mIoU 1/2
    # t=0.6 : pred [0,0,0] -> bg IoU 1/3, a IoU 0            -> mIoU 1/6
    assert out['threshold'] == 0.3
    assert out['mIoU'] == pytest.approx(50.0)
    assert out['precision'] == pytest.approx(75.0)  # bg 1/2, a 1/1
    assert out['recall'] == pytest.approx(75.0)  # bg 1/1, a 1/2
    report = json.load(open(tmp_path / 'r.json'))
    assert [round(m, 4) for _, m in report['curve']] == [33.3333, 50.0,
                                                        16.6667]
    assert report['per_class']['a']['iou'] == pytest.approx(50.0)
    # class b never occurs: NaN, and left out of the means
    assert np.isnan(report['per_class']['b']['iou'])


def test_images_accumulate_and_labels_stay_aligned():
    metric = CAMSeedMetric(thresholds=[0.5])
    metric.dataset_meta = dict(classes=('a', 'b', 'c'))
    # image 1: class c (key 2, label 3) perfectly found
    metric.process(None, [_sample([[[0.9, 0.1]]], [2], [[3, 0]])])
    # image 2: class a (label 1) missed entirely
    metric.process(None, [_sample([[[0.1, 0.1]]], [0], [[1, 1]])])
    out = metric.compute_metrics(metric.results)
    # bg: tp 1, fp 2 -> 1/3; a: 0; c: 1 -> mean over 3 occurring classes
    assert out['mIoU'] == pytest.approx((1 / 3 + 0 + 1) / 3 * 100)


def test_bad_thresholds():
    with pytest.raises(ValueError):
        CAMSeedMetric(thresholds=[])
