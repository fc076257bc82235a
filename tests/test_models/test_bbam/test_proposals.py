# Copyright (c) mmwsss contributors. All rights reserved.
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (jitter_boxes, sample_jitter_draws,
                               select_positive_proposals)
from mmwsss.models.bbam.proposals import _truncated_iou

GOLDEN = Path(__file__).parents[2] / 'data' / 'bbam_pieces.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def test_jitter_golden(golden):
    draws = sample_jitter_draws(1000, 0.3, random.Random(52))
    np.testing.assert_array_equal(draws, golden['jitter_draws'])
    np.testing.assert_allclose(
        np.abs(draws).sum(axis=1),
        golden['jitter_displacement_sum'],
        rtol=0,
        atol=1e-12)
    proposals = jitter_boxes(golden['target_box'], golden['image_hw'], draws)
    assert proposals.dtype == np.float32
    np.testing.assert_array_equal(proposals, golden['jitter_proposals'])
    # Torch inputs give the same proposals.
    np.testing.assert_array_equal(
        jitter_boxes(
            torch.from_numpy(golden['target_box']), golden['image_hw'],
            torch.from_numpy(draws)), proposals)


def test_jitter_numpy_generator_and_validation():
    draws = sample_jitter_draws(50, 0.2, np.random.default_rng(0))
    assert draws.shape == (50, 4)
    assert np.abs(draws).max() <= 0.2
    assert sample_jitter_draws(0).shape == (0, 4)
    boxes = jitter_boxes([2, 4, 8, 10], (12, 9), draws)
    assert (boxes >= 0).all() and (boxes[:, [0, 2]] <= 9).all()
    assert (boxes[:, [1, 3]] <= 12).all()
    assert (boxes[:, 2] > boxes[:, 0]).all()
    with pytest.raises(ValueError, match='generator'):
        sample_jitter_draws(2, 0.3, 0)
    with pytest.raises(ValueError, match='n must be'):
        sample_jitter_draws(-1)
    with pytest.raises(ValueError, match='draws must be'):
        jitter_boxes([0, 0, 1, 1], (4, 4), np.zeros((3, 2)))


@pytest.mark.parametrize('case', 'ABCD')
def test_select_positive_proposals_golden(golden, case):
    logits = golden[f'case{case}_class_logits']
    boxes = golden[f'case{case}_decoded_boxes']
    label = int(golden['target_label'])
    idxs, threshold = select_positive_proposals(logits, boxes,
                                                golden['target_box'], label)
    assert idxs.dtype == np.int64
    np.testing.assert_array_equal(idxs, golden[f'case{case}_positive_idxs'])
    assert threshold == float(golden[f'case{case}_final_iou_th'])
    # Torch and (N, C, 4) inputs are accepted.
    idxs_t, _ = select_positive_proposals(
        torch.from_numpy(logits),
        torch.from_numpy(boxes).view(-1, 21, 4), golden['target_box'], label)
    np.testing.assert_array_equal(idxs_t, idxs)
    # The reference IoU of each proposal's argmax-class box.
    argmax_boxes = boxes.reshape(-1, 21, 4)[np.arange(len(boxes)),
                                            logits.argmax(axis=1)]
    np.testing.assert_allclose(
        _truncated_iou(
            argmax_boxes.astype(np.float64),
            golden['target_box'].astype(np.float64)),
        golden[f'case{case}_iou_of_argmax_class_box'],
        rtol=0,
        atol=1e-12)


def test_truncated_iou_conventions():
    gt = np.array([0., 0., 10., 10.])
    boxes = np.array([[0.9, 0.9, 10.9, 10.9], [5., 0., 15., 10.],
                      [10., 0., 20., 10.], [-3.7, 0., 5., 10.]])
    np.testing.assert_allclose(
        _truncated_iou(boxes, gt), [1.0, 50 / 150, 0.0, 50 / 130])


def test_select_positive_proposals_validation():
    logits = np.zeros((3, 4))
    boxes = np.zeros((3, 16))
    with pytest.raises(ValueError, match='decoded_boxes'):
        select_positive_proposals(logits, boxes[:, :8], [0, 0, 1, 1], 1)
    with pytest.raises(ValueError, match='gt_label'):
        select_positive_proposals(logits, boxes, [0, 0, 1, 1], 4)
    with pytest.raises(ValueError, match='iou_cascade'):
        select_positive_proposals(logits, boxes, [0, 0, 1, 1], 1, ())
    with pytest.raises(ValueError, match='max_positives'):
        select_positive_proposals(
            logits, boxes, [0, 0, 1, 1], 1, max_positives=0)
