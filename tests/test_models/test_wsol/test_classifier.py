# Copyright (c) mmwsss contributors. All rights reserved.
import copy
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.datasets import CUBWSOLDataset
from mmwsss.datasets.transforms import (LoadImageRGB, LoadWSOLMask,
                                        PackWSOLInputs, WSOLResize)
from mmwsss.evaluation import WSOLMetric
from mmwsss.evaluation.functional import normalize_scoremap
from mmwsss.registry import MODELS

init_default_scope('mmpretrain')

TINY = dict(
    type='mmwsss.WSOLClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=4,
        mean=[120., 110., 100.],
        std=[60., 60., 60.]),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(3, )),
    head=dict(
        type='mmwsss.CAMHead',
        num_classes=4,
        in_channels=64,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss')))


def _model(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(copy.deepcopy(TINY), **kwargs))
    model.init_weights()
    return model.eval()


def _samples(labels):
    return [DataSample().set_gt_label(label) for label in labels]


@torch.no_grad()
def test_scores_and_score_maps():
    model = _model()
    x = torch.randn(3, 3, 64, 48)
    out = model.predict(x, _samples([1, 3, 0]))
    raw = model.raw_cams(x)
    expected_scores = model(x, mode='tensor').softmax(1)
    for i, (sample, label) in enumerate(zip(out, [1, 3, 0])):
        # logits = mean of the raw maps (bias included)
        assert torch.allclose(sample.pred_score, expected_scores[i], atol=1e-5)
        top1 = int(sample.pred_label)
        assert top1 == int(expected_scores[i].argmax())
        for key, cls in (('cam_gt', label), ('cam_top1', top1)):
            cam = sample.get(key)
            assert cam.shape == (64, 48) and cam.dtype == torch.float64
            assert cam.min() == 0 and cam.max() == 1
            # raw_cams is another forward pass: equal up to float32
            # rounding, which depends on the thread count
            np.testing.assert_allclose(
                cam.numpy(),
                normalize_scoremap(raw[i, cls], (64, 48)),
                rtol=0,
                atol=1e-5)
    assert any(int(s.pred_label) != label for s, label in zip(out, [1, 3, 0]))


@torch.no_grad()
def test_cam_size_percentile_and_missing_labels():
    model = _model(cam_size=(224, 224), cam_percentile=65)
    out = model.predict(torch.randn(2, 3, 32, 32))
    for sample in out:
        assert sample.cam_top1.shape == (224, 224)
        assert 'cam_gt' not in sample
        # MoANA's normalisation zeroes everything up to the percentile
        zeros = (sample.cam_top1 == 0).double().mean()
        assert 0.64 < zeros < 0.70 and sample.cam_top1.max() == 1
        # for WSOLMetric's protocol check
        assert sample.cam_percentile == 65
    min_max = _model().predict(torch.randn(1, 3, 32, 32))[0]
    assert min_max.cam_percentile is None
    with pytest.raises(ValueError, match='one GT label'):
        model.predict(torch.randn(1, 3, 32, 32), _samples([[0, 1]]))


@torch.no_grad()
def test_end_to_end_with_the_metric(tiny_synthvoc):
    model = _model(head=dict(TINY['head'], num_classes=2))
    dataset = CUBWSOLDataset(
        osp.join(tiny_synthvoc, 'wsol'),
        split='test',
        mask_dir='masks',
        pipeline=[
            LoadImageRGB(),
            WSOLResize(),
            LoadWSOLMask(),
            PackWSOLInputs()
        ])
    batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    outputs = model.test_step(batch)
    assert outputs[0].cam_gt.shape == (224, 224)
    evaluator = Evaluator(WSOLMetric(cam_curve_interval=0.01))
    evaluator.process(outputs, batch)
    metrics = evaluator.evaluate(len(dataset))
    for key in ('MaxBoxAcc', 'MaxBoxAccV2', 'PxAP', 'Top1Loc', 'Top5Loc',
                'GTKnownLoc', 'Top1Cls'):
        assert 0 <= metrics[f'wsol/{key}'] <= 100
    assert metrics['wsol/Top5Cls'] == 100  # only two classes
