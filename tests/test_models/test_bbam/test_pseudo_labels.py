# Copyright (c) mmwsss contributors. All rights reserved.
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (bbam_dense_crf, bbam_to_instance_mask,
                               bbam_to_soft_mask, merge_semantic_labels)
from mmwsss.models.bbam import (bbam_pseudo_masks, filled_box_masks, pixel_box,
                                 pseudo_labels)

GOLDEN = Path(__file__).parents[2] / 'data' / 'bbam_pieces.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


class RecordingCRF:
    """Identity CRF that records its inputs; optionally halves call 1."""

    def __init__(self, halve_first=False):
        self.halve_first = halve_first
        self.calls = []

    def __call__(self, image, probs):
        self.calls.append(probs)
        if self.halve_first and len(self.calls) == 1:
            return probs / 2
        return probs


def _topcrf(golden, k):
    width, height = golden['topcrf_image_wh']
    return (golden[f'topcrf_bbam_{k}'], golden['topcrf_boxes'][k],
            golden['topcrf_image_bgr'], (int(height), int(width)))


@pytest.mark.parametrize('k', range(3))
@pytest.mark.parametrize('th', (0.85, 0.2))
def test_soft_mask_and_identity_crf_golden(golden, k, th):
    bbam, box, image, size = _topcrf(golden, k)
    soft = bbam_to_soft_mask(bbam, box, size, th)
    assert soft.dtype == np.float64 and soft.shape == size
    np.testing.assert_allclose(
        soft, golden[f'topcrf_{k}_th{th}_precrf_fg'], rtol=0, atol=1e-9)
    crf = RecordingCRF()
    mask = bbam_to_instance_mask(bbam, box, image, th, crf=crf)
    assert mask.dtype == bool
    np.testing.assert_array_equal(
        mask, golden[f'topcrf_{k}_th{th}_result_identity_crf'].astype(bool))
    assert len(crf.calls) == golden[f'topcrf_{k}_th{th}_n_postprocessor_calls']
    np.testing.assert_allclose(crf.calls[0][1], 1 - crf.calls[0][0])


@pytest.mark.parametrize('k', range(3))
def test_fallback_golden(golden, k):
    bbam, box, image, _ = _topcrf(golden, k)
    key = f'topcrf_{k}_th0.85_fallback'
    crf = RecordingCRF(halve_first=True)
    mask = bbam_to_instance_mask(bbam, box, image, 0.85, crf=crf)
    np.testing.assert_array_equal(mask, golden[f'{key}_result'].astype(bool))
    assert len(crf.calls) == golden[f'{key}_n_postprocessor_calls']
    np.testing.assert_allclose(
        crf.calls[-1][0], golden[f'{key}_last_call_fg'], rtol=0, atol=1e-9)


def test_missing_bbam_fills_the_box():
    image = np.zeros((20, 30, 3), dtype=np.uint8)
    box = [4, 5, 10, 9]
    expected = np.zeros((20, 30), dtype=bool)
    expected[5:9, 4:10] = True
    for bbam in (None, np.zeros((10, 15))):
        crf = RecordingCRF()
        mask = bbam_to_instance_mask(bbam, box, image, 0.85, crf=crf)
        np.testing.assert_array_equal(mask, expected)
        # 0.7, 0.8 and 0.9 are not above 0.9; 0.95 is.
        assert [p[0].max() for p in crf.calls] == [0.7, 0.8, 0.9, 0.95]
    # When no fill passes, the last attempt is still returned (one mask per
    # box, so masks never shift onto other boxes).
    mask = bbam_to_instance_mask(
        None, box, image, 0.85, crf=lambda img, p: np.zeros_like(p))
    assert mask.shape == (20, 30) and not mask.any()


def test_retry_keeps_prior_foreground():
    # A small box whose first CRF output is too small (4 <= 64 / 5 pixels,
    # partly outside the box): the retries fill the box on top of it.
    image = np.zeros((40, 40, 3), dtype=np.uint8)
    bbam = np.zeros((40, 40), dtype=np.float32)
    bbam[10:12, 10:12] = 1
    box = (8, 8, 16, 16)
    first_fg = np.zeros((40, 40), dtype=bool)
    first_fg[7:9, 7:9] = True
    calls = []

    def crf(img, probs):
        calls.append(probs)
        if len(calls) == 1:
            return np.stack([first_fg, ~first_fg]).astype(np.float64)
        return probs

    mask = bbam_to_instance_mask(bbam, box, image, 0.85, crf=crf)
    retry = calls[1][0]
    assert (retry[first_fg] == 1).all()
    inside = np.zeros((40, 40), dtype=bool)
    inside[8:16, 8:16] = True
    assert (retry[inside & ~first_fg] == 0.7).all()
    assert (retry[~inside & ~first_fg] == 0).all()
    # 0.95 is the first fill above 0.9; box and prior foreground are kept.
    assert len(calls) == 5
    np.testing.assert_array_equal(mask, inside | first_fg)


def test_soft_mask_validation_and_inputs(golden):
    bbam, box, _, size = _topcrf(golden, 0)
    ref = bbam_to_soft_mask(bbam, box, size, 0.85)
    np.testing.assert_array_equal(
        bbam_to_soft_mask(
            torch.from_numpy(bbam), torch.tensor(box), size, 0.85), ref)
    assert not bbam_to_soft_mask(np.ones((4, 4)), box, size, 0.85).any()
    with pytest.raises(ValueError, match='inside'):
        bbam_to_soft_mask(bbam, [0, 0, 65, 10], size, 0.85)
    with pytest.raises(ValueError, match='non-empty'):
        bbam_to_soft_mask(bbam, [5, 5, 5, 10], size, 0.85)
    with pytest.raises(ValueError, match='rank_fraction'):
        bbam_to_soft_mask(bbam, box, size, 1.5)
    with pytest.raises(ValueError, match='bbam must be'):
        bbam_to_soft_mask(np.zeros(5), box, size, 0.85)


def test_dense_crf_default():
    image = np.full((32, 32, 3), 30, dtype=np.uint8)
    image[8:24, 8:24] = 220
    fg = np.full((32, 32), 0.3)
    fg[10:22, 10:22] = 0.95
    posterior = bbam_dense_crf(image, np.stack([fg, 1 - fg]))
    assert posterior.shape == (2, 32, 32) and posterior.dtype == np.float32
    np.testing.assert_allclose(posterior.sum(axis=0), 1, atol=1e-5)
    # The bright square is pulled into the foreground, the rest stays out.
    assert (posterior[0, 9:23, 9:23] > 0.5).all()
    assert (posterior[0, :4] < 0.5).all()
    # Channel order does not matter (same colour std on every channel).
    np.testing.assert_allclose(
        bbam_dense_crf(image[..., ::-1].copy(), np.stack([fg, 1 - fg])),
        posterior)
    with pytest.raises(ValueError, match='uint8'):
        bbam_dense_crf(image.astype(np.float32), np.stack([fg, 1 - fg]))


def test_instance_mask_default_crf(golden):
    bbam, box, image, size = _topcrf(golden, 1)
    mask = bbam_to_instance_mask(bbam, box, image, 0.85)
    assert mask.shape == size and mask.dtype == bool and mask.any()


def test_merge_semantic_labels_golden(golden):
    args = (golden['sem_classes'], golden['sem_boxes_xywh'],
            golden['sem_masks_fg'], golden['sem_masks_ignore'])
    label = merge_semantic_labels(*args)
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, golden['sem_label'])
    # Without ignore pixels the map is the one before the ignore step.
    no_ignore = merge_semantic_labels(*args[:3], golden['sem_masks_fg'])
    np.testing.assert_array_equal(no_ignore,
                                  golden['sem_aggregated_before_ignore'])
    # Torch inputs.
    np.testing.assert_array_equal(
        merge_semantic_labels(*(torch.from_numpy(a) for a in args)), label)


def test_merge_semantic_labels_rules():
    masks = np.zeros((3, 6, 6), dtype=np.uint8)
    masks[0, 0:4, 0:4] = 1
    masks[1, 2:4, 2:4] = 1  # nested in box 0, different class
    masks[2, 2:4, 2:4] = 1  # same box as 1: identical boxes are not nested
    boxes = np.array([[0, 0, 4, 4], [2, 2, 2, 2], [2, 2, 2, 2]])
    label = merge_semantic_labels([3, 5], boxes[:2], masks[:2], masks[:2])
    expected = np.zeros((6, 6), dtype=np.uint8)
    expected[0:4, 0:4] = 3
    expected[2:4, 2:4] = 5
    np.testing.assert_array_equal(label, expected)
    label = merge_semantic_labels([5, 7], boxes[1:], masks[1:], masks[1:])
    assert (label[2:4, 2:4] == 255).all()
    empty = merge_semantic_labels(
        np.zeros(0), np.zeros((0, 4)), np.zeros((0, 6, 6)), np.zeros(
            (0, 6, 6)))
    assert empty.shape == (6, 6) and not empty.any()
    with pytest.raises(ValueError, match='classes must be'):
        merge_semantic_labels([0], boxes[:1], masks[:1], masks[:1])
    with pytest.raises(ValueError, match='masks_fg'):
        merge_semantic_labels([1], boxes[:1], masks[:2], masks[:2])


def test_pixel_box_and_filled_boxes():
    # floor the start, ceil the end, clip to the image, keep one pixel
    assert pixel_box([1.5, 2.2, 6.1, 7.0], 10, 8) == (1, 2, 7, 7)
    assert pixel_box([-3., -1., 20., 30.], 10, 8) == (0, 0, 8, 10)
    assert pixel_box([7.5, 9.5, 7.5, 9.5], 10, 8) == (7, 9, 8, 10)
    masks = filled_box_masks(np.array([[1.5, 2.2, 6.1, 7.0]]), 10, 8)
    expected = np.zeros((1, 10, 8), dtype=bool)
    expected[0, 2:7, 1:7] = True
    np.testing.assert_array_equal(masks, expected)
    assert filled_box_masks(np.zeros((0, 4)), 10, 8).shape == (0, 10, 8)


def test_pseudo_masks_in_worker_processes_equal_serial(monkeypatch):
    # small images run here (a pool's start would cost more): allow any
    monkeypatch.setattr(pseudo_labels, '_MIN_PIXELS_FOR_WORKERS', 0)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    maps = [rng.random((10, 12)).astype(np.float32) for _ in range(3)]
    boxes = np.array([[2., 3., 30., 35.], [20., 5., 48., 30.],
                      [10., 10., 25., 22.]])
    args = (maps, [5, 0, 2], boxes, [0, 1, 1], image)
    serial = bbam_pseudo_masks(*args)  # BBAM's dense CRF
    pids = []
    monkeypatch.setattr(pseudo_labels, 'bbam_to_instance_mask',
                        lambda *a: (pids.append(os.getpid()),
                                    bbam_to_instance_mask(*a))[1])
    parallel = bbam_pseudo_masks(*args, num_workers=2)
    assert len(pids) == 0  # the 6 CRF runs happened in the workers
    monkeypatch.setattr(pseudo_labels, '_MIN_PIXELS_FOR_WORKERS', 40 * 50 + 1)
    bbam_pseudo_masks(*args, num_workers=2)
    assert pids == [os.getpid()] * 6  # too small for a pool
    assert serial.keys() == parallel.keys()
    for key, value in serial.items():
        np.testing.assert_array_equal(parallel[key], value, err_msg=key)
    assert serial['masks'].any(axis=(1, 2)).all()


def test_pseudo_masks_of_an_image():
    image = np.random.default_rng(0).integers(
        0, 256, (30, 40, 3), dtype=np.uint8)
    bbam = np.zeros((6, 8), dtype=np.float32)
    bbam[1:4, 1:4] = 1
    boxes = np.array([[2.5, 3.0, 20.2, 22.0], [22., 4., 38., 26.]])
    # identity CRF: object 0 from its map, object 1 without one (box path)
    out = bbam_pseudo_masks([bbam, np.zeros((6, 8))], [3, 0], boxes, [0, 2],
                            image, 0.85, 0.2, crf=lambda img, p: p)
    for k, key in enumerate(('masks', 'ignore_masks')):
        rank = (0.85, 0.2)[k]
        np.testing.assert_array_equal(
            out[key][0],
            bbam_to_instance_mask(bbam, (2, 3, 21, 22), image, rank,
                                  crf=lambda img, p: p))
    assert out['bbam_missing'].tolist() == [False, True]
    assert out['box_filled'].tolist() == [False, False]
    np.testing.assert_array_equal(
        out['sem_seg'],
        merge_semantic_labels([1, 3],
                              np.c_[boxes[:, :2], boxes[:, 2:] - boxes[:, :2]],
                              out['masks'], out['ignore_masks']))
    # an empty mask becomes the filled box, so every box keeps a mask
    empty = bbam_pseudo_masks([bbam], [3], boxes[:1], [0], image,
                              crf=lambda img, p: np.zeros_like(p))
    filled = np.zeros((30, 40), dtype=bool)
    filled[3:22, 2:21] = True
    np.testing.assert_array_equal(empty['masks'][0], filled)
    np.testing.assert_array_equal(empty['ignore_masks'][0], filled)
    assert empty['box_filled'].tolist() == [True]
    none = bbam_pseudo_masks([], [], np.zeros((0, 4)), [], image)
    assert none['masks'].shape == (0, 30, 40)
    assert not none['sem_seg'].any() and none['sem_seg'].dtype == np.uint8
    with pytest.raises(ValueError, match='2 boxes but 1 maps'):
        bbam_pseudo_masks([bbam], [3, 0], boxes, [0, 2], image)
