# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import seed_growing_mask_loss, seed_growing_targets

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
