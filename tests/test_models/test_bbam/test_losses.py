# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import seed_growing_mask_loss, seed_growing_targets
from mmwsss.testing import as_device_like, count_host_syncs

GOLDEN = Path(__file__).parents[2] / 'data' / 'bbam_pieces.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _own_class_logits(golden):
    labels = torch.from_numpy(golden['mrcnn_labels'])
    logits = torch.tensor(golden['mrcnn_mask_logits'], requires_grad=True)
    positive = torch.nonzero(labels > 0).squeeze(1)
    return logits, logits[positive, labels[positive]]


def test_seed_growing_golden(golden):
    logits, own = _own_class_logits(golden)
    fg = torch.from_numpy(golden['mrcnn_targets_fg'])
    ignore = torch.from_numpy(golden['mrcnn_targets_ignore'])
    threshold = float(golden['mrcnn_th_growing'])
    labels = seed_growing_targets(own, fg, ignore, threshold)
    assert labels.dtype == torch.int8
    np.testing.assert_array_equal(labels.numpy(),
                                  golden['mrcnn_mask_target_news'])
    loss = seed_growing_mask_loss(own, fg, ignore, threshold)
    assert loss.item() == pytest.approx(
        float(golden['mrcnn_loss_seed_growing']), rel=0, abs=1e-6)
    loss.backward()
    expected = golden['mrcnn_loss_seed_growing_grad']
    np.testing.assert_allclose(
        logits.grad.numpy(),
        expected,
        rtol=0,
        atol=1e-6 * np.abs(expected).max())


def test_balanced_bce_without_ignore_golden(golden):
    _, own = _own_class_logits(golden)
    fg = torch.from_numpy(golden['mrcnn_targets_fg'])
    loss = seed_growing_mask_loss(own, fg)
    expected = float(golden['mrcnn_loss_no_ignore'])
    assert loss.item() == pytest.approx(expected, rel=0, abs=1e-6)
    # The reference silently uses this loss when the ignore targets do not
    # pair with the foreground targets; here that is an error.
    assert float(golden['mrcnn_loss_mismatch']) == expected
    with pytest.raises(ValueError, match='targets_ignore must match'):
        seed_growing_mask_loss(own, fg, fg[:3])


def test_seed_growing_empty_sets_give_zero():
    logits = torch.zeros(2, 5, 5, requires_grad=True)
    fg = torch.ones(2, 5, 5)
    loss = seed_growing_mask_loss(logits, fg)
    assert loss.item() == 0
    loss.backward()
    assert logits.grad is not None and not logits.grad.any()
    # Isolated seeds have no neighbour of their kind and are ignored.
    fg = torch.zeros(1, 5, 5)
    fg[0, 2, 2] = 1
    ignore = torch.ones(1, 5, 5)
    labels = seed_growing_targets(logits[:1].detach(), fg, ignore)
    assert (labels == -1).all()
    with pytest.raises(ValueError, match='mask_logits must be'):
        seed_growing_mask_loss(logits[0], fg[0])


def test_seed_growing_loss_reads_nothing_on_the_host(golden):
    _, own = _own_class_logits(golden)
    fg = torch.from_numpy(golden['mrcnn_targets_fg'])
    ignore = torch.from_numpy(golden['mrcnn_targets_ignore'])
    for targets in ((fg, ignore), (fg, )):
        expected = seed_growing_mask_loss(own, *targets)
        logits = own.detach().clone().requires_grad_(True)
        with count_host_syncs() as syncs:
            loss = seed_growing_mask_loss(
                as_device_like(logits), *as_device_like(targets))
            loss.backward()
        assert syncs['count'] == 0, syncs['ops']
        assert torch.equal(loss.detach(), expected.detach())
        assert logits.grad.abs().sum() > 0
    # an empty set gives 0 without a host-side test either
    with count_host_syncs() as syncs:
        loss = seed_growing_mask_loss(
            as_device_like(torch.zeros(2, 5, 5)),
            as_device_like(torch.ones(2, 5, 5)))
    assert syncs['count'] == 0 and loss.item() == 0


@pytest.mark.gpu
def test_cuda_loss_step_equals_cpu(golden):
    _, own = _own_class_logits(golden)
    fg = torch.from_numpy(golden['mrcnn_targets_fg'])
    ignore = torch.from_numpy(golden['mrcnn_targets_ignore'])
    results = []
    for device in ('cpu', 'cuda'):
        logits = own.detach().to(device).requires_grad_(True)
        loss = seed_growing_mask_loss(logits, fg.to(device),
                                      ignore.to(device))
        loss.backward()
        results.append((loss.detach().cpu(), logits.grad.cpu()))
    (cpu_loss, cpu_grad), (loss, grad) = results
    # float32: the kernels' sigmoid and sum order differ by a few ulps
    torch.testing.assert_close(loss, cpu_loss, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, cpu_grad, rtol=1e-5,
                               atol=1e-6 * cpu_grad.abs().max().item())


def test_seed_growing_off_keeps_the_initial_seeds():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 12, 12, generator=gen) * 4
    fg = torch.zeros(3, 12, 12)
    fg[:, 3:8, 3:8] = 1
    ignore = torch.zeros(3, 12, 12)
    ignore[:, 1:10, 1:10] = 1
    grown = seed_growing_targets(logits, fg, ignore)
    plain = seed_growing_targets(logits, fg, ignore, grow=False)
    # the labels no longer depend on the predictions...
    assert torch.equal(
        plain, seed_growing_targets(-logits, fg, ignore, grow=False))
    # ...and equal those of a threshold nothing passes
    assert torch.equal(
        plain, seed_growing_targets(logits, fg, ignore, grow_threshold=1.0))
    assert not torch.equal(plain, grown)
    assert (plain[:, 1:10, 1:10] != 0).all()  # no background in the band
    torch.testing.assert_close(
        seed_growing_mask_loss(logits, fg, ignore, grow=False),
        seed_growing_mask_loss(logits, fg, ignore, grow_threshold=1.0))
