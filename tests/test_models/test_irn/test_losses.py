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


def _saturated_inputs(golden):
    # A boundary-free half: sigmoid(-30) is 0 in float16 (and 1 - 1e-13
    # rounds to 1 in bfloat16 and float32), so a = 1 exactly there, where
    # a low-precision 1 + 1e-5 - a is 0 and its log -inf.
    edge_logit, disp, masks, pi = _inputs(golden)
    edge_logit = edge_logit.clone()
    edge_logit[..., :12] = -30
    return edge_logit, disp, masks, pi


def _assert_fp32_losses(losses, expected):
    for key in LOSS_KEYS:
        assert losses[key].dtype == torch.float32, key
        assert torch.isfinite(losses[key]), key
        torch.testing.assert_close(
            losses[key], expected[key], rtol=1e-6, atol=0, msg=key)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_losses_are_computed_in_float32(golden, dtype):
    edge_logit, disp, masks, pi = _saturated_inputs(golden)
    edge_half = edge_logit.to(dtype).requires_grad_(True)
    disp_half = disp.to(dtype).requires_grad_(True)
    losses = irn_losses(edge_half, disp_half, *masks, pi)
    # The same inputs, rounded to half precision, in float32.
    expected = irn_losses(edge_half.detach().float(),
                          disp_half.detach().float(), *masks, pi)
    # Negative pairs with a = 1 exactly in half precision: the hazard.
    aff = edge_to_affinity(torch.sigmoid(edge_half.detach()), pi)
    assert ((aff == 1) & (masks[2] > 0)).any()
    _assert_fp32_losses(losses, expected)
    losses['loss_total'].backward()
    assert edge_half.grad.dtype == dtype
    assert torch.isfinite(edge_half.grad).all()
    assert torch.isfinite(disp_half.grad).all()


def test_losses_under_cpu_autocast(golden):
    edge_logit, disp, masks, pi = _saturated_inputs(golden)
    identity = torch.ones(2, 1, 1, 1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        # A convolution under autocast hands the loss bfloat16 logits, as
        # the IRNet heads do under --amp.
        edge_amp = torch.nn.functional.conv2d(edge_logit, identity[:1])
        disp_amp = torch.nn.functional.conv2d(
            disp, identity, groups=2)
        assert edge_amp.dtype == disp_amp.dtype == torch.bfloat16
        losses = irn_losses(edge_amp, disp_amp, *masks, pi)
    expected = irn_losses(edge_amp.float(), disp_amp.float(), *masks, pi)
    _assert_fp32_losses(losses, expected)


def test_float64_losses_stay_float64(golden):
    edge_logit, disp, masks, pi = _inputs(golden)
    losses = irn_losses(edge_logit.double(), disp.double(), *masks, pi)
    for key in LOSS_KEYS:
        assert losses[key].dtype == torch.float64
        np.testing.assert_allclose(
            losses[key].item(), golden[key], rtol=1e-5, err_msg=key)


@pytest.mark.gpu
def test_losses_under_cuda_autocast(golden):
    edge_logit, disp, masks, pi = _saturated_inputs(golden)
    identity = torch.ones(2, 1, 1, 1, device='cuda')
    with torch.autocast('cuda', dtype=torch.float16):
        edge_amp = torch.nn.functional.conv2d(edge_logit.cuda(), identity[:1])
        disp_amp = torch.nn.functional.conv2d(
            disp.cuda(), identity, groups=2)
        assert edge_amp.dtype == disp_amp.dtype == torch.float16
        losses = irn_losses(edge_amp, disp_amp, *[m.cuda() for m in masks],
                            pi)
    # The CPU float32 losses of the same float16 values.
    expected = irn_losses(edge_amp.float().cpu(),
                          disp_amp.float().cpu(), *masks, pi)
    for key in LOSS_KEYS:
        assert losses[key].dtype == torch.float32, key
        assert torch.isfinite(losses[key]), key
        torch.testing.assert_close(
            losses[key].cpu(), expected[key], rtol=1e-5, atol=0, msg=key)
