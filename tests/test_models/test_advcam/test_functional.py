# Copyright (c) mmwsss contributors. All rights reserved.
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.functional import (adversarial_climb_step, adversarial_climbing,
                               advcam_analytic_regions, advcam_gradcam_regions,
                               advcam_multiscale_cams, advcam_objective,
                               advcam_scale_schedule)

GOLDEN = Path(__file__).parents[2] / 'data' / 'advcam_adversarial_climbing.npz'
SCALES = (1.0, 0.5, 1.5, 2.0)


class _ResBlock(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(16, 32, 3, 2, 1, bias=False)
        self.conv2 = nn.Conv2d(32, 32, 3, 1, 1, bias=False)
        self.down = nn.Conv2d(16, 32, 1, 2, bias=False)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.conv1(x))) + self.down(x))


class _TinyCAM(nn.Module):
    """The golden's stand-in for the IRN CAM network (README section 10)."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())
        self.stage3 = nn.Sequential(nn.Conv2d(16, 16, 3, 1, 1), nn.ReLU())
        self.stage4 = nn.Sequential(_ResBlock())
        self.classifier = nn.Conv2d(32, 20, 1, bias=False)

    def forward(self, x):
        feats = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return F.conv2d(feats, self.classifier.weight), feats


@pytest.fixture(scope='module', autouse=True)
def single_thread():
    # Tiny convolutions: thread hand-offs dominate on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.fixture(scope='module')
def net(golden):
    model = _TinyCAM()
    model.load_state_dict({
        k[len('param.'):]: torch.from_numpy(v)
        for k, v in golden.items() if k.startswith('param.')
    })
    return model.eval().requires_grad_(False)


def _close(actual, expected, rtol):
    """Agreement relative to the array's max magnitude (README section 3)."""
    actual = torch.as_tensor(actual).double().numpy()
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize('analytic', [False, True])
def test_t4_iterations_match_reference(golden, net, analytic):
    target = int(golden['target_class'])
    weight = net.classifier.weight if analytic else None
    for scale, (steps, mul) in zip(SCALES, advcam_scale_schedule(SCALES, 4)):
        assert (steps, mul) == (4, 1.0)
        acc, trace = adversarial_climbing(
            net,
            torch.from_numpy(golden[f'input_scale{scale}']), [target],
            adv_iter=4,
            classifier_weight=weight,
            return_trace=True)
        assert len(trace) == 4
        for t, step in enumerate(trace):
            key = f'scale{scale}_it{t}_'
            rtol = 1e-5 if t == 0 else 1e-4
            _close(step['regions'], golden[key + 'regions'], rtol)
            np.testing.assert_array_equal(step['mask'].numpy(),
                                          golden[key + 'mask'])
            _close(step['y'][0], golden[key + 'y'], rtol)
            for name, ref in (('logit_loss', 'logit_loss'), ('l_ad', 'L_AD'),
                              ('loss', 'loss')):
                np.testing.assert_allclose(
                    step[name].item(), golden[key + ref], rtol=rtol, atol=1e-7)
            if scale == 1.0:
                _close(step['raw_maps'], golden[key + 'raw_maps'], rtol)
                _close(step['x_next'], golden[key + 'x_next'], rtol)
        _close(acc, sum(golden[f'scale{scale}_it{t}_regions']
                        for t in range(4)), 1e-4)
        _close(trace[0]['regions'], golden[f'scale{scale}_init_regions'], 1e-5)
        if scale == 1.0:
            _close(trace[0]['grad'], golden['scale1.0_it0_grad'], 1e-5)


@pytest.mark.parametrize('adv_iter,prefix', [(4, 'final_'),
                                             (11, 'T11_final_')])
def test_final_cams_match_reference(golden, net, adv_iter, prefix):
    inputs = [torch.from_numpy(golden[f'input_scale{s}']) for s in SCALES]
    keys = golden['final_keys']
    for weight in (None, net.classifier.weight):
        strided, high_res = advcam_multiscale_cams(
            net,
            inputs,
            SCALES, (48, 64),
            keys,
            adv_iter=adv_iter,
            classifier_weight=weight)
        _close(strided, golden[prefix + 'cam_strided'], 1e-4)
        _close(high_res, golden[prefix + 'high_res'], 1e-4)


def test_t11_trace_matches_reference(golden, net):
    target = int(golden['target_class'])
    # The reference handles scale 0.5 first; mul_for_scale stays 2.
    order = (0.5, 1.0, 1.5, 2.0)
    schedule = advcam_scale_schedule(order, 11)
    assert schedule == [(5, 2.0), (11, 2.0), (11, 2.0), (11, 2.0)]
    rows = []
    for scale, (steps, mul) in zip(order, schedule):
        _, trace = adversarial_climbing(
            net,
            torch.from_numpy(golden[f'input_scale{scale}']), [target],
            adv_iter=steps,
            classifier_weight=net.classifier.weight,
            return_trace=True)
        rows += [(scale, t, s['l_ad'].item(), s['logit_loss'].item(), mul)
                 for t, s in enumerate(trace)]
    rows = np.array(rows)
    for col, name in enumerate(
        ('scale', 'it', 'L_AD', 'logit_loss', 'mul_for_scale')):
        np.testing.assert_allclose(
            rows[:, col], golden[f'T11_trace_{name}'], rtol=1e-4, atol=1e-6)


def test_scale_schedule_rules():
    assert advcam_scale_schedule(SCALES, 27) == [(27, 2.0), (13, 2.0),
                                                 (27, 2.0), (27, 2.0)]
    assert advcam_scale_schedule(
        SCALES, 27, compensate_half_scale=True) == [(27, 1.0), (13, 2.0),
                                                    (27, 1.0), (27, 1.0)]
    assert advcam_scale_schedule(SCALES, 8)[1] == (5, 1.0)
    assert advcam_scale_schedule((1.0, 2.0), 27) == [(27, 1.0), (27, 1.0)]


def _random_net_inputs(seed=0, classes=(3, 7, 11)):
    gen = torch.Generator().manual_seed(seed)
    net = _TinyCAM()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    net.eval().requires_grad_(False)
    image = torch.randn(1, 3, 40, 56, generator=gen)
    return net, torch.cat([image, image.flip(-1)]), list(classes)


def test_analytic_regions_equal_gradcam():
    net, pair, targets = _random_net_inputs()
    x = pair.repeat(len(targets), 1, 1, 1).requires_grad_(True)
    raw, feats = net(x)
    hooked = advcam_gradcam_regions(raw, feats, targets)
    analytic = advcam_analytic_regions(raw, targets, net.classifier.weight)
    assert hooked.shape == (3, 5, 7)
    # Sums of O(1) float32 terms in another order: up to a few eps (1.2e-7)
    # apart, more on CPUs with other vector widths (1.4e-7 on AVX2).
    torch.testing.assert_close(analytic, hooked, rtol=1e-5, atol=1e-6)
    # Same input gradient through the maps (weights are constants).
    grads = [
        torch.autograd.grad(m.square().sum(), x, retain_graph=True)[0]
        for m in (hooked, analytic)
    ]
    torch.testing.assert_close(
        grads[1], grads[0], rtol=0, atol=1e-5 * grads[0].abs().max().item())


def test_batched_classes_equal_one_by_one():
    net, pair, targets = _random_net_inputs(1)
    batched = adversarial_climbing(
        net,
        pair,
        targets,
        adv_iter=3,
        classifier_weight=net.classifier.weight)
    for g, c in enumerate(targets):
        single = adversarial_climbing(net, pair, [c], adv_iter=3)
        torch.testing.assert_close(batched[g], single[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('chunk', [1, 2])
def test_class_chunks_equal_one_batch(chunk):
    """Step 0 is shared by all classes, later steps run chunk by chunk."""
    net, pair, targets = _random_net_inputs(1)
    kwargs = dict(
        adv_iter=4, classifier_weight=net.classifier.weight,
        return_trace=True)
    whole, whole_trace = adversarial_climbing(net, pair, targets, **kwargs)
    parts, parts_trace = adversarial_climbing(
        net, pair, targets, max_classes_per_batch=chunk, **kwargs)
    torch.testing.assert_close(parts, whole, rtol=1e-4, atol=1e-6)
    for a, b in zip(parts_trace, whole_trace):
        assert a.keys() == b.keys()
        assert a['x_next'].shape == (2 * len(targets), *pair.shape[1:])
        torch.testing.assert_close(
            a['regions'], b['regions'], rtol=1e-4, atol=1e-6)


def test_steps_keep_no_tensors_without_trace(monkeypatch):
    """Without ``return_trace`` a step's image-sized tensors (gradient,
    next image) die with the next step, so memory does not grow with T."""
    from mmwsss.models.advcam import functional as advcam
    net, pair, targets = _random_net_inputs(2)
    stepped, alive = [], []

    def climb_step(x, grad, *args):
        x_next = adversarial_climb_step(x, grad, *args)
        stepped.extend((weakref.ref(grad), weakref.ref(x_next)))
        alive.append(sum(ref() is not None for ref in stepped))
        return x_next

    monkeypatch.setattr(advcam, 'adversarial_climb_step', climb_step)
    adversarial_climbing(
        net, pair, targets, adv_iter=8,
        classifier_weight=net.classifier.weight)
    # steps 0 .. 6 step the image (the last step's image is never used)
    assert len(alive) == 7
    # at most x_1 of all classes (kept for the class chunks), the current
    # image, its gradient and the next image
    assert max(alive) == alive[-1] == 4, alive


def test_objective_and_step_pieces():
    raw = torch.zeros(2, 4, 2, 2)
    raw[:, 1] = 1.0
    raw[:, 2] = 2.0
    regions = torch.tensor([[[1.0, 0.2], [0.6, 0.0]]])
    init = torch.tensor([[[0.5, 0.0], [0.0, 0.0]]])
    out = advcam_objective(raw, regions, init, [1], ad_coeff=7.0)
    # y = 1 (class 1) and 2 (class 2) for both copies.
    assert out['logit_loss'].item() == pytest.approx(-4 + 6)
    assert out['mask'].tolist() == [[[1.0, 0.0], [1.0, 0.0]]]
    assert out['l_ad'].item() == pytest.approx(0.5 + 0.6)
    assert out['loss'].item() == pytest.approx(-2 - 7 * 1.1)
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0], [10.0, 20.0], [30.0, 40.0]])
    grad = torch.tensor([[1.0, -2.0], [0.5, 4.0], [-1.0, 0.0], [0.0, 1.0]])
    step = adversarial_climb_step(x, grad, step_size=1.0, groups=2)
    # Group-wise max|g| (4 and 1) and clamping to the group's own range.
    torch.testing.assert_close(
        step,
        torch.tensor([[0.25, 0.5], [2.125, 3.0], [10.0, 20.0], [30.0, 40.0]]))
    pair = torch.zeros(2, 3, 4, 4)
    with pytest.raises(ValueError):
        adversarial_climbing(lambda t: t, pair[:1], [0])
    with pytest.raises(ValueError):
        adversarial_climbing(lambda t: t, pair, [])
    with pytest.raises(ValueError):
        adversarial_climbing(lambda t: t.mean(1, keepdim=True), pair, [0])


def test_objective_without_other_class_suppression():
    raw = torch.zeros(2, 4, 2, 2)
    raw[:, 1] = 1.0
    raw[:, 2] = 2.0
    regions = torch.tensor([[[1.0, 0.2], [0.6, 0.0]]])
    init = torch.tensor([[[0.5, 0.0], [0.0, 0.0]]])
    out = advcam_objective(
        raw, regions, init, [1], ad_coeff=7.0, suppress_other_classes=False)
    # Only the target's y (1 per copy) enters; class 2 no longer counts.
    assert out['logit_loss'].item() == pytest.approx(-2)
    assert out['l_ad'].item() == pytest.approx(0.5 + 0.6)
    assert out['loss'].item() == pytest.approx(2 - 7 * 1.1)


def test_climbing_without_suppression_changes_only_the_objective():
    net, pair, targets = _random_net_inputs(3)
    kwargs = dict(adv_iter=3, classifier_weight=net.classifier.weight)
    default = adversarial_climbing(net, pair, targets, **kwargs)
    explicit = adversarial_climbing(
        net, pair, targets, suppress_other_classes=True, **kwargs)
    ablated, trace = adversarial_climbing(
        net, pair, targets, suppress_other_classes=False, return_trace=True,
        **kwargs)
    assert torch.equal(default, explicit)
    assert not torch.allclose(ablated, default)
    # The objective is minus the target's y alone.
    y = trace[0]['y']
    rows = torch.arange(len(targets))
    target_y = y[rows, :, torch.as_tensor(targets)].sum(1)
    torch.testing.assert_close(trace[0]['logit_loss'], -target_y)
