# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (PathIndex, affinity_labels, edge_to_affinity,
                               irn_losses, pair_displacement)

DATA = Path(__file__).parents[2] / 'data'
LOSS_KEYS = ('loss_bg_pos_aff', 'loss_fg_pos_aff', 'loss_pos_aff',
             'loss_neg_aff', 'loss_dp_fg', 'loss_dp_bg', 'loss_total')


@pytest.fixture(scope='module')
def golden():
    return np.load(DATA / 'irn_affinity_losses.npz')


def _inputs(golden):
    path_index = PathIndex(int(golden['radius']), (20, 24))
    masks = [torch.from_numpy(golden[k]) for k in ('bg_pos', 'fg_pos', 'neg')]
    return (torch.from_numpy(golden['edge_logit']),
            torch.from_numpy(golden['disp']), masks, path_index)


def test_pieces_match_reference(golden):
    edge_logit, disp, masks, pi = _inputs(golden)
    labels = [affinity_labels(label, pi) for label in golden['label_maps']]
    for i, mask in enumerate(masks):
        np.testing.assert_array_equal(
            np.stack([lab[i] for lab in labels]),
            mask.numpy() > 0)
    np.testing.assert_allclose(
        edge_to_affinity(torch.sigmoid(edge_logit), pi).numpy(),
        golden['affinity'],
        rtol=1e-5,
        atol=1e-6)
    np.testing.assert_allclose(
        pair_displacement(disp, pi).numpy(),
        golden['pair_disp'],
        rtol=1e-5,
        atol=1e-6)
    np.testing.assert_array_equal(pi.search_dst.T[None, :, :, None],
                                  golden['disp_target'])


@pytest.mark.parametrize('mask_dtype',
                         [torch.uint8, torch.bool, torch.float32])
def test_losses_match_reference(golden, mask_dtype):
    edge_logit, disp, masks, pi = _inputs(golden)
    masks = [m.to(mask_dtype) for m in masks]
    losses = irn_losses(edge_logit, disp, *masks, pi)
    assert set(losses) == set(LOSS_KEYS)
    for key in LOSS_KEYS:
        assert losses[key].dtype == torch.float32
        np.testing.assert_allclose(
            losses[key].item(), golden[key], rtol=1e-5, err_msg=key)


def test_losses_backward(golden):
    edge_logit, disp, masks, pi = _inputs(golden)
    edge_logit.requires_grad_(True)
    disp.requires_grad_(True)
    irn_losses(edge_logit, disp, *masks, pi)['loss_total'].backward()
    assert torch.isfinite(edge_logit.grad).all()
    assert edge_logit.grad.abs().sum() > 0 and disp.grad.abs().sum() > 0


def test_empty_masks_give_zero():
    pi = PathIndex(3, (6, 7))
    empty = torch.zeros(1, pi.num_directions, pi.num_sources)
    losses = irn_losses(
        torch.zeros(1, 1, 6, 7), torch.ones(1, 2, 6, 7), empty, empty, empty,
        pi)
    for value in losses.values():
        assert value.item() == 0
