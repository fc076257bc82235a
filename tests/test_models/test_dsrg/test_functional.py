# Copyright (c) mmwsss contributors. All rights reserved.
"""DSRG's pure functions against golden ``dsrg_pylayers.npz`` (the original
Caffe/Theano layers; tolerances of its README section 24)."""
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from mmwsss.functional import (balanced_seed_loss, constrain_loss, crf_image,
                               dsrg_crf_log, dsrg_crf_refine, dsrg_grow_batch,
                               dsrg_label_map, dsrg_region_growing,
                               dsrg_seed_label, dsrg_softmax, sec_seed_loss,
                               seed_label_to_cues)

GOLDEN = Path(__file__).parents[2] / 'data' / 'dsrg_pylayers.npz'
# The Caffe data layer's BGR mean, added back before the CRF.
CAFFE_MEAN_BGR = (104., 117., 123.)


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _close(actual, expected, rel):
    """Agreement to ``rel`` relative to the array's max magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = torch.as_tensor(actual).detach().double().numpy()
    np.testing.assert_allclose(
        actual, expected, rtol=0, atol=rel * max(np.abs(expected).max(), 1.0))


def _case(golden, name, key):
    return golden[f'rg_{name}_{key}']


@pytest.mark.parametrize('name',
                         ['two_objects', 'conflicting_seeds', 'ring_and_hole'])
def test_region_growing_matches_reference(golden, name):
    labels = _case(golden, name, 'labels')
    cues = _case(golden, name, 'cues')
    probs = _case(golden, name, 'probs_refined')
    th1, th2 = float(golden['th1']), float(golden['th2'])
    np.testing.assert_array_equal(
        dsrg_label_map(labels, cues, probs, th1, th2),
        _case(golden, name, 'label_map'))
    grown = dsrg_region_growing(labels, cues, probs, th1, th2)
    assert grown.dtype == np.uint8
    np.testing.assert_array_equal(grown, _case(golden, name, 'seed_out'))
    # The input cues are left alone.
    np.testing.assert_array_equal(cues, _case(golden, name, 'cues'))


def test_region_growing_batch_layer(golden):
    """``DSRGLayer.forward`` per image, with the stored refinement."""
    for i, name in enumerate(golden['rg_case_names']):
        grown = dsrg_region_growing(golden['layer_img_labels'][i, 0, 0],
                                    _case(golden, name, 'cues'),
                                    _case(golden, name, 'probs_refined'))
        np.testing.assert_array_equal(grown, golden['layer_seed_out'][i])


def test_region_growing_depends_on_threshold(golden):
    """A higher foreground threshold grows less (the rule is not a no-op)."""
    name = 'two_objects'
    args = [_case(golden, name, k) for k in ('labels', 'cues', 'probs_refined')]
    grown = dsrg_region_growing(*args)
    strict = dsrg_region_growing(*args, th1=1.0, th2=1.0)
    np.testing.assert_array_equal(strict, args[1])
    assert grown.sum() > strict.sum()


def test_8_connectivity_partition(golden):
    """scipy's 8-connected labelling is the reference's CC partition."""
    for mat, ref in zip(golden['cc_mats'], golden['cc_labels']):
        for value in np.unique(mat):
            ours, _ = ndi.label(mat == value, structure=np.ones((3, 3)))
            region = mat == value
            pairs = set(zip(ours[region].tolist(), ref[region].tolist()))
            assert len(pairs) == len(set(ours[region].tolist())) == len(
                set(ref[region].tolist()))


def _crf_inputs(golden):
    probs = golden['crf_probs_in'].copy()
    probs[probs < 1e-4] = 1e-4
    np.testing.assert_array_equal(probs, golden['crf_probs_after_clamp'])
    return probs


def test_crf_refinement_matches_reference(golden):
    probs = _crf_inputs(golden)
    size = probs.shape[2:]
    for i, image in enumerate(golden['crf_images']):
        zoomed = crf_image(image, size, CAFFE_MEAN_BGR)
        np.testing.assert_array_equal(zoomed, golden['crf_zoomed_image'][i])
        refined = dsrg_crf_refine(probs[i], zoomed, scale_factor=12.0)
        assert refined.dtype == np.float64
        _close(refined, golden['crf_refined'][i], 1e-5)
        _close(np.log(refined).astype(np.float32),
               golden['crf_layer_log_out'][i], 1e-5)
        grown = dsrg_region_growing(golden['layer_img_labels'][i, 0, 0],
                                    _case(golden,
                                          golden['rg_case_names'][i], 'cues'),
                                    refined)
        np.testing.assert_array_equal(grown, golden['crf_dsrg_seed_out'][i])


def test_crf_log_backward_as_coded(golden):
    probs = torch.tensor(_crf_inputs(golden), requires_grad=True)
    refined = torch.tensor(golden['crf_refined'], dtype=torch.float32)
    log_q = dsrg_crf_log(probs, refined)
    log_q.backward(torch.tensor(golden['crf_layer_top_diff']))
    _close(probs.grad, golden['crf_layer_bottom_diff'], 1e-5)


def test_losses_on_crf_path(golden):
    # The loss layers read the probabilities before the CRF's clamp.
    probs = torch.tensor(golden['crf_probs_in'], requires_grad=True)
    log_q = torch.log(torch.tensor(golden['crf_refined'],
                                   dtype=torch.float32))
    loss = constrain_loss(probs, log_q)
    loss.backward()
    _close(loss, golden['crf_constrain_loss'][0], 1e-5)
    _close(probs.grad, golden['crf_constrain_grad_probs'], 1e-5)
    seed = balanced_seed_loss(probs.detach(),
                              torch.tensor(golden['crf_dsrg_seed_out']))
    _close(seed, golden['crf_balanced_seed_loss'][0], 1e-6)


def test_softmax_matches_reference(golden):
    logits = torch.tensor(golden['loss_logits'], requires_grad=True)
    probs = dsrg_softmax(logits)
    _close(probs, golden['softmax_probs'], 1e-6)
    probs.backward(torch.tensor(golden['softmax_top_diff']))
    _close(logits.grad, golden['softmax_bottom_diff'], 1e-6)


@pytest.mark.parametrize('loss_fn,key', [(balanced_seed_loss, 'balanced_seed'),
                                         (sec_seed_loss, 'seed')])
def test_seed_losses_match_reference(golden, loss_fn, key):
    probs = torch.tensor(golden['softmax_probs'], requires_grad=True)
    loss = loss_fn(probs, torch.tensor(golden['loss_seeds']))
    loss.backward()
    _close(loss, golden[f'{key}_loss'][0], 1e-6)
    _close(probs.grad, golden[f'{key}_grad_probs'], 1e-6)


def test_constrain_loss_matches_reference(golden):
    probs = torch.tensor(golden['softmax_probs'], requires_grad=True)
    log_q = torch.tensor(golden['constrain_probs_smooth_log'],
                         requires_grad=True)
    loss = constrain_loss(probs, log_q)
    loss.backward()
    _close(loss, golden['constrain_loss'][0], 1e-6)
    _close(probs.grad, golden['constrain_grad_probs'], 1e-6)
    _close(log_q.grad, golden['constrain_grad_probs_smooth_log'], 1e-6)


def test_grow_batch_matches_layer(golden):
    """The batched host path (CRF + growing) on the single-label cases."""
    names = ['two_objects', 'ring_and_hole']
    index = [list(golden['rg_case_names']).index(n) for n in names]
    cues = np.stack([_case(golden, n, 'cues') for n in names])
    assert cues.sum(axis=1).max() == 1
    seed_labels = np.where(cues.any(axis=1), cues.argmax(axis=1), 255)
    np.testing.assert_array_equal(
        seed_label_to_cues(seed_labels[0], cues.shape[1]), cues[0])
    refined, grown = dsrg_grow_batch(
        torch.tensor(golden['layer_img_labels'][index, 0, 0]),
        torch.tensor(seed_labels), torch.tensor(_crf_inputs(golden)[index]),
        torch.tensor(golden['crf_images'][index]), CAFFE_MEAN_BGR, 12.0,
        float(golden['th1']), float(golden['th2']))
    _close(refined, golden['crf_refined'][index], 1e-5)
    np.testing.assert_array_equal(grown, golden['crf_dsrg_seed_out'][index])


def test_seed_label_from_cams_and_saliency():
    cams = np.zeros((2, 4, 5), np.float32)
    cams[0, 0, :2] = 1.0
    cams[1, 3, 3:] = 0.5
    cams[0, 0, 2] = 0.1  # weak: neither foreground nor background
    keys = [2, 4]
    seeds = dsrg_seed_label(cams, keys, fg_threshold=0.2, bg_threshold=0.05)
    assert seeds[0, 0] == 3 and seeds[3, 4] == 5
    assert seeds[0, 2] == 255 and seeds[2, 2] == 0
    saliency = np.ones((4, 5))
    saliency[:, 0] = 0.0  # salient background only in column 0
    with_sal = dsrg_seed_label(cams, keys, 0.2, saliency=saliency)
    # Foreground wins over the saliency background; elsewhere saliency rules.
    assert with_sal[0, 0] == 3 and with_sal[1, 0] == 0
    assert with_sal[2, 2] == 255 and with_sal[3, 4] == 5


def test_region_growing_exclusion_rule():
    """A region does not take pixels seeded for exactly one other class, but
    does take those seeded for two (the reference's ``sum == 1`` test)."""
    labels = np.array([1, 1, 1, 1], np.float32)
    probs = np.full((4, 1, 4), 0.01, np.float32)
    probs[3] = 0.97  # class 3 is confident on the whole row
    seeds = np.zeros((4, 1, 4), np.uint8)
    seeds[3, 0, 0] = 1
    seeds[1, 0, 1] = 1  # one other seed: excluded
    seeds[1, 0, 2] = seeds[2, 0, 2] = 1  # two other seeds: taken
    grown = dsrg_region_growing(labels, seeds, probs)
    np.testing.assert_array_equal(grown[3, 0], [1, 0, 1, 1])
    np.testing.assert_array_equal(grown[:3], seeds[:3])
