# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsss.functional import (kmeans, ood_distance_threshold,
                               wood_class_centers, wood_distance_loss,
                               wood_losses, wood_ood_loss, wood_perturb_ood)
from mmwsss.testing import as_device_like, count_host_syncs

GOLDEN = Path(__file__).parents[2] / 'data' / 'wood_losses_kmeans.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return {key: torch.from_numpy(value) for key, value in data.items()}


def _close(actual, expected, rtol=1e-5):
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual.detach().numpy(),
                               expected,
                               rtol=0,
                               atol=rtol * max(np.abs(expected).max(), 1e-12))


def _linear_model(golden):
    weight, bias = golden['ood_linear_weight'], golden['ood_linear_bias']
    return lambda x: F.linear(x.flatten(1), weight, bias)


def test_kmeans_golden(golden):
    labels, centers = kmeans(golden['kmeans_points'], int(golden['kmeans_K']),
                             int(golden['kmeans_iters']))
    assert labels.dtype == torch.int64
    np.testing.assert_array_equal(labels.numpy(), golden['kmeans_labels'])
    _close(centers, golden['kmeans_centers'])


def test_kmeans_empty_cluster_keeps_center():
    # Duplicate initial centres: ties go to the first, so the second is
    # empty after one step and stays put; it wins its points back later.
    points = torch.tensor([[0., 0.], [0., 0.], [10., 0.], [10., 1.]])
    labels, centers = kmeans(points, 2, iterations=1)
    np.testing.assert_array_equal(labels.numpy(), [0, 0, 0, 0])
    np.testing.assert_array_equal(centers.numpy(), [[5., .25], [0., 0.]])
    labels, centers = kmeans(points, 2, iterations=3)
    np.testing.assert_array_equal(labels.numpy(), [1, 1, 0, 0])
    np.testing.assert_array_equal(centers.numpy(), [[10., .5], [0., 0.]])
    with pytest.raises(ValueError, match='k must be'):
        kmeans(points, 5)


def test_distance_loss_golden(golden):
    threshold = ood_distance_threshold(golden['ood_distances'],
                                       float(golden['ood_dist_topk']))
    assert threshold.item() == pytest.approx(float(golden['ood_thresh']),
                                             rel=1e-5)
    loss = wood_distance_loss(golden['features'], golden['label'],
                              golden['class_centers'], golden['ood_centers'],
                              float(golden['ood_dist_topk']))
    assert loss.item() == pytest.approx(float(golden['loss_M']), rel=1e-5)


def test_distance_loss_parts_golden(golden):
    # The golden distances follow the documented definition.
    centers = torch.cat([golden['class_centers'], golden['ood_centers']])
    distances = (golden['features'][:, None] - centers).norm(dim=-1)
    _close(distances, golden['distances'])
    _close(distances[:, :20] * golden['label'], golden['fg_distances'])
    # The OoD term alone: class centres at the features cost nothing.
    labels = torch.zeros_like(golden['label'])
    ood = golden['ood_distances']
    expected = -(ood * (ood < golden['ood_thresh'])).mean()
    loss = wood_distance_loss(golden['features'], labels,
                              golden['class_centers'], golden['ood_centers'])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_ood_threshold_per_image_and_edge_cases():
    distances = torch.tensor([[1., 2., 3., 4., 5.], [0., 0., 0., 0., 0.],
                              [0., 7., 0., 0., 0.]])
    per_image = ood_distance_threshold(distances, 0.2, per_image=True)
    # int(0.8 * 5) = 4 largest of row 0 -> 2; no nonzero -> 0; int(0.8) = 0
    # would keep nothing, at least one distance is kept -> 7.
    np.testing.assert_array_equal(per_image.numpy(), [[2.], [0.], [7.]])
    # Pooled: 6 nonzero, the 4 largest are 7, 5, 4, 3.
    assert ood_distance_threshold(distances).item() == 3.
    assert ood_distance_threshold(torch.zeros(2, 3)).item() == 0.


def test_distance_loss_per_image(golden):
    features, labels = golden['features'], golden['label']
    loss = wood_distance_loss(features,
                              labels,
                              golden['class_centers'],
                              golden['ood_centers'],
                              per_image=True)
    ood = golden['ood_distances']
    threshold = ood_distance_threshold(ood, per_image=True)
    expected = (golden['fg_distances'].mean() * 20 / 5 -
                (ood * (ood < threshold)).mean())
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_distance_loss_gradient_is_finite(golden):
    features = golden['class_centers'][:2].clone().requires_grad_(True)
    labels = torch.eye(20)[:2]
    loss = wood_distance_loss(features, labels, golden['class_centers'],
                              golden['ood_centers'])
    loss.backward()
    assert torch.isfinite(features.grad).all()


def test_ood_branch_golden(golden):
    model = _linear_model(golden)
    images = golden['ood_images']
    perturbed, grad = wood_perturb_ood(model, images,
                                       float(golden['ood_adv_stepsize']))
    _close(grad, golden['ood_input_grad'])
    _close(perturbed, golden['ood_images_perturbed'])
    assert not perturbed.requires_grad
    logits = model(perturbed)
    _close(logits, golden['ood_logits_perturbed'])
    np.testing.assert_array_equal((logits.argmax(1) != 4).numpy(),
                                  golden['ood_loss_mask'])
    loss = wood_ood_loss(logits, int(golden['cam_batch_size']))
    assert loss.item() == pytest.approx(float(golden['loss_ood']), rel=1e-5)


def test_ood_loss_exclusion():
    logits = torch.tensor([[0., 0., 3.], [1., 0., 0.]])
    full = F.softplus(logits).mean(1)
    assert wood_ood_loss(logits, 2,
                         None).item() == pytest.approx(full.sum().item() / 2)
    assert wood_ood_loss(logits, 4, excluded_class=2).item() == \
        pytest.approx(full[1].item() / 4)


def test_total_loss_golden(golden):
    logits = _linear_model(golden)(golden['ood_images_perturbed'])
    losses = wood_losses(golden['logits_in_dist'],
                         golden['label'],
                         golden['features'],
                         golden['class_centers'],
                         golden['ood_centers'],
                         logits,
                         distance_lambda=float(golden['distance_lambda']),
                         ood_coeff=float(golden['ood_coeff']),
                         topk_ratio=float(golden['ood_dist_topk']),
                         batch_size=int(golden['cam_batch_size']))
    assert set(losses) == {'loss_cls', 'loss_distance', 'loss_ood'}
    assert losses['loss_distance'].item() == pytest.approx(
        0.007 * float(golden['loss_M']), rel=1e-5)
    assert sum(losses.values()).item() == pytest.approx(float(
        golden['loss_total']),
                                                        rel=1e-5)


def test_class_centers():
    features = torch.tensor([[1., 0.], [3., 2.], [5., 4.]])
    labels = torch.tensor([[1, 1, 0], [1, 0, 0], [0, 1, 0]])
    centers = wood_class_centers(features, labels)
    np.testing.assert_allclose(centers.numpy(), [[2., 1.], [3., 2.], [0., 0.]])


@pytest.mark.parametrize('per_image', [False, True])
def test_ood_threshold_matches_its_definition(per_image):
    # Random distances with zeros, ties, an all-zero row and rows whose
    # int((1 - ratio) * n) is 0.
    gen = torch.Generator().manual_seed(0)
    distances = torch.randint(0, 6, (7, 9), generator=gen).float()
    distances[2] = 0
    distances[3, 1:] = 0
    distances[4, 2:] = 0
    for ratio in (0.0, 0.2, 0.5, 0.9):
        rows = distances if per_image else distances.reshape(1, -1)
        expected = []
        for row in rows:
            nonzero = row[row != 0]
            keep = max(1, int((1 - ratio) * nonzero.numel()))
            expected.append(
                nonzero.topk(keep).values[-1] if nonzero.numel() else 0.)
        expected = torch.tensor(expected)
        expected = expected[:, None] if per_image else expected[0]
        assert torch.equal(
            ood_distance_threshold(distances, ratio, per_image), expected)


def test_training_losses_read_nothing_on_the_host(golden):
    logits = _linear_model(golden)(golden['ood_images_perturbed'])
    args = (golden['logits_in_dist'], golden['label'], golden['features'],
            golden['class_centers'], golden['ood_centers'], logits)
    for per_image in (False, True):
        expected = wood_losses(*args, per_image=per_image)
        with count_host_syncs() as syncs:
            losses = wood_losses(
                *as_device_like(args), per_image=per_image,
                excluded_class=(4, 7))
            losses_4 = wood_losses(*as_device_like(args), per_image=per_image)
        assert syncs['count'] == 0, syncs['ops']
        for key, value in losses_4.items():
            assert torch.equal(value, expected[key])
        assert losses['loss_ood'] <= losses_4['loss_ood']
    with count_host_syncs() as syncs:
        wood_perturb_ood(
            _linear_model(golden), as_device_like(golden['ood_images']))
    assert syncs['count'] == 0, syncs['ops']


def test_kmeans_iterations_read_nothing_on_the_host(golden):
    points = golden['kmeans_points']
    with count_host_syncs() as syncs:
        labels, centers = kmeans(as_device_like(points), 3, 10)
    assert syncs['count'] == 0, syncs['ops']
    expected = kmeans(points, 3, 10)
    assert torch.equal(labels, expected[0])
    assert torch.equal(centers, expected[1])
