# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (gndrp_logits, gndrp_pool, rib_explosion_stop,
                               rib_loss, rib_target_stop)

GOLDEN = Path(__file__).parents[2] / 'data' / 'rib_gndrp_loss.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _close(actual, expected):
    """Agreement to 1e-6 relative to the array's max magnitude."""
    expected = np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(
        torch.as_tensor(actual).detach().double().numpy(),
        expected,
        rtol=0,
        atol=1e-6 * max(np.abs(expected).max(), 1.0))


def test_gndrp_matches_reference(golden):
    tau = float(golden['score_th'])
    raw = torch.from_numpy(golden['rib_raw'])
    pooled = gndrp_pool(raw, torch.from_numpy(golden['rib_labels']), tau)
    assert pooled.shape == (4, 20) and pooled.dtype == torch.float32
    _close(pooled, golden['rib_gndp'])
    # Without labels GNDRP is plain GAP.
    _close(gndrp_pool(raw, torch.zeros(4, 20), tau), golden['rib_gap'])
    # Row 1, class 0: a label class whose map is negative everywhere pools
    # to 0 (every pixel has R / max >= 1 > tau).
    assert golden['rib_labels'][1, 0] == 1 and raw[1, 0].max() < 0
    assert pooled[1, 0] == 0
    for k in range(3):
        # Target rows share the target image's label vector.
        _close(
            gndrp_pool(
                torch.from_numpy(golden[f'target_raw_{k}']),
                torch.from_numpy(golden['target_label']), tau),
            golden[f'target_gndp_{k}'])


def test_loss_gradients_and_stop_match_reference(golden):
    tau = float(golden['score_th'])
    target_raw = [
        torch.from_numpy(golden[f'target_raw_{k}']).requires_grad_(True)
        for k in range(3)
    ]
    rib_raw = torch.from_numpy(golden['rib_raw']).requires_grad_(True)
    target_label = torch.from_numpy(golden['target_label'])
    logits = torch.cat(
        [gndrp_pool(r, target_label, tau) for r in target_raw] +
        [gndrp_pool(rib_raw, torch.from_numpy(golden['rib_labels']), tau)])
    labels = torch.from_numpy(golden['labels_total'])
    _close(logits, golden['logits_total'])
    loss = rib_loss(logits, labels)
    np.testing.assert_allclose(loss.item(), golden['loss'], rtol=1e-6)
    loss.backward()
    _close(rib_raw.grad, golden['grad_rib_raw'])
    for k, raw in enumerate(target_raw):
        _close(raw.grad, golden[f'grad_target_raw_{k}'])
    total, stop = rib_target_stop(logits[:6], labels[:6],
                                  float(golden['stop_th']))
    np.testing.assert_allclose(total.item(), golden['target_loss'], rtol=1e-6)
    assert stop == bool(golden['stop_flag'])
    assert rib_target_stop(logits[:6], labels[:6], 1.0)[1]


def test_gndrp_any_number_of_classes():
    gen = torch.Generator().manual_seed(0)
    raw = torch.randn(3, 81, 5, 6, generator=gen)
    labels = torch.zeros(3, 81)
    labels[0, 80] = labels[2, 45] = 1
    pooled = gndrp_pool(raw, labels, 0.4)
    keep = raw[0, 80] / raw[0, 80].max() < 0.4
    torch.testing.assert_close(pooled[0, 80], (raw[0, 80] * keep).mean())
    assert pooled[2, 45] < raw[2, 45].mean()
    unlabelled = labels == 0
    torch.testing.assert_close(pooled[unlabelled],
                               raw.mean((2, 3))[unlabelled])


def test_gndrp_logits_head_function():
    gen = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 8, 4, 5, generator=gen)
    weight = torch.randn(6, 8, 1, 1, generator=gen)
    labels = torch.tensor([[1., 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0]])
    raw = torch.nn.functional.conv2d(feats, weight)
    torch.testing.assert_close(
        gndrp_logits(feats, weight, labels), gndrp_pool(raw, labels))
    torch.testing.assert_close(
        gndrp_logits(feats, weight.flatten(1)), raw.mean((2, 3)))


def test_explosion_stop():
    cam = torch.zeros(3, 4, 5)
    cam[0, :, :2] = 1.0  # 8 of 20 pixels
    cam[2, :, 2:] = 0.5  # 12 of 20 pixels; class 1 is not a key
    cam[1] = 1.0
    assert rib_explosion_stop(cam, [0, 2])
    assert not rib_explosion_stop(cam, [0])
    assert not rib_explosion_stop(cam, [0, 2], explode_ratio=1.0)


def test_rib_loss_activation_ablations():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, generator=gen) * 3
    labels = (torch.rand(3, 5, generator=gen) > 0.5).float()
    assert rib_loss(logits, labels).item() == pytest.approx(
        -(logits * labels).sum().item())
    bce = torch.nn.functional.binary_cross_entropy
    expected = {
        'sigmoid': bce(logits.sigmoid(), labels),
        'tanh': bce((logits.tanh() + 1) / 2, labels),
        'softsign': bce((logits / (1 + logits.abs()) + 1) / 2, labels),
    }
    for activation, value in expected.items():
        torch.testing.assert_close(
            rib_loss(logits, labels, activation=activation), value)
    # (tanh(z) + 1) / 2 = sigmoid(2 z): the affine tanh is a steeper sigmoid
    torch.testing.assert_close(
        rib_loss(logits, labels, activation='tanh'),
        rib_loss(2 * logits, labels, activation='sigmoid'))
    # shared (C,) labels of the target rows broadcast as in RIB's loss
    torch.testing.assert_close(
        rib_loss(logits, labels[0], activation='softsign'),
        rib_loss(logits, labels[0].expand(3, -1), activation='softsign'))
    with pytest.raises(ValueError, match='activation'):
        rib_loss(logits, labels, activation='relu')
