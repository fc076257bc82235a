# Copyright (c) mmwsss contributors. All rights reserved.
"""PSA / AffinityNet functions against the golden vectors of the reference
(jiwoon-ahn/psa; golden README sections 21-23)."""
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (get_path_index, psa_affinity_labels,
                               psa_affinity_loss, psa_crf_scores,
                               psa_la_ha_label, psa_label_from_scores,
                               psa_pair_affinity, psa_pair_indices,
                               psa_pair_order, psa_pool_scores,
                               psa_random_walk, psa_rw_to_label,
                               psa_scores_with_background,
                               psa_transition_matrix)
from mmwsss.models.irn.random_walk import propagate

DATA = Path(__file__).parents[2] / 'data'


@pytest.fixture(scope='module')
def labels_golden():
    return np.load(DATA / 'psa_affinity_labels.npz')


@pytest.fixture(scope='module')
def loss_golden():
    return np.load(DATA / 'psa_affinity_loss.npz')


@pytest.fixture(scope='module')
def rw_golden():
    return np.load(DATA / 'psa_affinity_net_rw.npz')


def _assert_pair_labels(masks, golden, prefix):
    for name, mask in zip(('bg_pos', 'fg_pos', 'neg'), masks):
        assert mask.dtype == torch.bool
        np.testing.assert_array_equal(
            mask.numpy(), golden[prefix + name].astype(bool), err_msg=name)


def test_pair_order_and_indices(labels_golden, rw_golden):
    for case in labels_golden['extract_case_names']:
        radius = int(labels_golden[case + '_radius'])
        search_dst = get_path_index(radius, (12, 12)).search_dst
        np.testing.assert_array_equal(search_dst[psa_pair_order(radius)],
                                      labels_golden[case + '_search_dist'])
    for golden, key, grid in ((labels_golden, 'pairs_r5_12x12_', (12, 12)),
                              (rw_golden, '', (12, 14))):
        ind_from, ind_to = psa_pair_indices(5, grid)
        np.testing.assert_array_equal(ind_from, golden[key + 'ind_from'])
        np.testing.assert_array_equal(ind_to.reshape(-1),
                                      golden[key + 'ind_to'])


def test_affinity_labels(labels_golden):
    for case in labels_golden['extract_case_names']:
        masks = psa_affinity_labels(labels_golden[case + '_label'],
                                    int(labels_golden[case + '_radius']))
        _assert_pair_labels(masks, labels_golden, case + '_')
    # batched, on a tensor: the same per image
    batch = torch.from_numpy(
        np.stack([labels_golden['r5_12_label'], labels_golden['ds0_label']]))
    bg_pos, _, neg = psa_affinity_labels(batch)
    np.testing.assert_array_equal(bg_pos[1].numpy(),
                                  labels_golden['ds0_bg_pos'].astype(bool))
    np.testing.assert_array_equal(neg[0].numpy(),
                                  labels_golden['r5_12_neg'].astype(bool))


@pytest.mark.parametrize('case', ['ds0', 'ds1'])
def test_label_from_pooled_la_ha_scores(labels_golden, case):
    pooled = labels_golden[case + '_pooled_scores'].transpose(2, 0, 1)
    la, ha = pooled[:3], pooled[3:]
    label = psa_label_from_scores(la, ha)
    np.testing.assert_array_equal(label, labels_golden[case + '_label'])
    # the reference's intermediate maps, for a failing case
    np.testing.assert_array_equal(
        la.argmax(0), labels_golden[case + '_label_la_argmax'])
    assert (label[labels_golden[case + '_no_score_region'] == 1] == 255).all()
    _assert_pair_labels(psa_affinity_labels(label), labels_golden, case + '_')
    # with keys, channels become classes (dict keys are class + 1)
    keys = labels_golden['ds_la_keys'][1:] - 1
    with_keys = psa_label_from_scores(la, ha, keys)
    lut = np.array([0, 3, 15])
    known = label != 255
    np.testing.assert_array_equal(with_keys[known], lut[label[known]])
    assert (with_keys[~known] == 255).all()


@pytest.mark.parametrize('tag', ['uniform', 'with_exact_0_1'])
def test_affinity_loss_float32_exact(loss_golden, tag):
    masks = [torch.from_numpy(loss_golden[k]) for k in ('bg_pos', 'fg_pos',
                                                        'neg')]
    aff = torch.from_numpy(loss_golden[tag + '_aff'])
    losses = psa_affinity_loss(aff, *masks)
    for ours, ref in (('loss_bg_pos_aff', 'bg_loss'),
                      ('loss_fg_pos_aff', 'fg_loss'),
                      ('loss_neg_aff', 'neg_loss'), ('loss_total', 'loss')):
        assert losses[ours].dtype == torch.float32
        np.testing.assert_allclose(
            losses[ours].item(), loss_golden[f'{tag}_{ref}'], rtol=0,
            atol=1e-6, err_msg=ours)
    for mask, ref in zip(masks, ('bg', 'fg', 'neg')):
        assert mask.sum() == loss_golden[f'{tag}_{ref}_count']
    # float64 keeps float64 and the float64 tolerance
    losses64 = psa_affinity_loss(aff.double(), *masks)
    assert losses64['loss_total'].dtype == torch.float64
    np.testing.assert_allclose(
        losses64['loss_total'].item(), loss_golden[tag + '_loss'], atol=1e-4)


def test_pair_affinity(rw_golden):
    features = torch.from_numpy(rw_golden['head_feature']).reshape(
        1, 448, 12, 14)
    aff = psa_pair_affinity(features)
    expected = rw_golden['aff_sparse']
    np.testing.assert_allclose(
        aff.numpy(), expected, rtol=0, atol=1e-5 * np.abs(expected).max())


def test_transition_matrix_is_the_dense_reference(rw_golden):
    # One step (logt = 0): A**beta column-normalised, transposed.
    dense = torch.from_numpy(rw_golden['aff_dense']).double()**8
    expected = (dense / dense.sum(0, keepdim=True)).T
    transition = psa_transition_matrix(
        torch.from_numpy(rw_golden['aff_sparse']), (12, 14), beta=8)
    assert transition.layout == torch.sparse_csr
    torch.testing.assert_close(
        transition.to_dense(), expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize('tag', ['default', 'a4_b4_t4'])
def test_random_walk(rw_golden, tag):
    alpha, beta, logt = (
        int(v) for v in rw_golden[f'rw_{tag}_alpha_beta_logt'])
    present = rw_golden['rw_present_channels']
    aff = torch.from_numpy(rw_golden['aff_sparse'])
    cams = torch.from_numpy(rw_golden['rw_cam'])

    pooled = psa_pool_scores(psa_scores_with_background(cams, alpha))
    expected = rw_golden[f'rw_{tag}_cam_full_arr_pooled'][present]
    np.testing.assert_allclose(
        pooled.numpy(), expected, rtol=0, atol=1e-5 * expected.max())

    # T**(2**logt): the walk applied to every unit vector.
    walked = propagate(
        psa_transition_matrix(aff, (12, 14), beta),
        torch.eye(168, dtype=torch.float64).reshape(168, 12, 14), logt)
    expected = rw_golden[f'rw_{tag}_trans_mat']
    np.testing.assert_allclose(
        walked.reshape(168, 168).numpy(), expected, rtol=0,
        atol=2e-4 * expected.max())

    rw = psa_random_walk(pooled, aff, beta=beta, logt=logt)
    assert rw.dtype == torch.float32
    expected = rw_golden[f'rw_{tag}_cam_rw_grid'][0][present]
    np.testing.assert_allclose(
        rw.numpy(), expected, rtol=0, atol=2e-4 * expected.max())

    label = psa_rw_to_label(rw, rw_golden['rw_cam_keys'], (90, 108))
    assert label.dtype == np.uint8
    reliable = rw_golden[f'rw_{tag}_near_tie_mask'] == 0
    np.testing.assert_array_equal(label[reliable],
                                  rw_golden[f'rw_{tag}_res'][reliable])
    # the upsampled maps, from the reference's walk output
    ref_grid = torch.from_numpy(rw_golden[f'rw_{tag}_cam_rw_grid'][0][present])
    up = torch.nn.functional.interpolate(
        ref_grid[None], size=(96, 112), mode='bilinear', align_corners=False)
    expected = rw_golden[f'rw_{tag}_cam_rw_up_present'][0]
    np.testing.assert_allclose(
        up[0].numpy(), expected, rtol=0, atol=1e-5 * expected.max())
    np.testing.assert_array_equal(
        psa_rw_to_label(ref_grid, rw_golden['rw_cam_keys'], (90, 108)),
        rw_golden[f'rw_{tag}_res'])


def test_float32_walk_keeps_the_labels(rw_golden):
    aff = torch.from_numpy(rw_golden['aff_sparse'])
    pooled = psa_pool_scores(
        psa_scores_with_background(torch.from_numpy(rw_golden['rw_cam']), 16))
    rw = psa_random_walk(pooled, aff, dtype='float32')
    reliable = rw_golden['rw_default_near_tie_mask'] == 0
    label = psa_rw_to_label(rw, rw_golden['rw_cam_keys'], (90, 108))
    np.testing.assert_array_equal(label[reliable],
                                  rw_golden['rw_default_res'][reliable])


def test_background_of_an_image_without_classes():
    scores = psa_scores_with_background(torch.zeros(0, 5, 7), 4)
    assert scores.shape == (1, 5, 7) and (scores == 1).all()
    label = psa_la_ha_label(np.zeros((0, 5, 7), np.float32), [])
    assert (label == 0).all()


def test_la_ha_label_without_and_with_crf():
    rng = np.random.default_rng(0)
    cams = np.zeros((2, 24, 32), np.float32)
    cams[0, 2:12, 2:14] = 1.0
    cams[0, 12:14, 2:14] = 0.3  # la and ha: class
    cams[0, 0:2, 2:14] = 0.1  # la: background, ha: class -> unknown
    cams[1, 14:22, 18:30] = 0.9
    keys = [4, 11]
    label = psa_la_ha_label(cams, keys, la_alpha=4, ha_alpha=32)
    assert label[5, 5] == 5 and label[18, 20] == 12
    assert label[13, 5] == 5  # 0.3 > 0.7**4
    assert label[1, 5] == 255  # 0.9**32 < 0.1 < 0.9**4
    assert label[0, 31] == 0
    image = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    crf_label = psa_la_ha_label(
        cams, keys, image=image, crf=lambda img, s: psa_crf_scores(
            img, s, bilateral_sxy=10, gaussian_sxy=1))
    assert set(np.unique(crf_label)) <= {0, 5, 12, 255}
    assert crf_label[5, 5] == 5 and crf_label[0, 31] == 0
    with pytest.raises(ValueError, match='image'):
        psa_la_ha_label(cams, keys, crf=psa_crf_scores)


def test_crf_scores_are_a_posterior():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)
    scores = rng.random((3, 10, 12)).astype(np.float32)
    posterior = psa_crf_scores(image, scores)
    assert posterior.shape == (3, 10, 12) and posterior.dtype == np.float32
    np.testing.assert_allclose(posterior.sum(0), 1, atol=1e-5)
