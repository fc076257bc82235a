# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNet map expansion vs the per-position loop, masks and aggregation."""
import pytest
import torch
import torch.nn.functional as F

from mmwsss.functional import (aggregate_cam_draws, expand_windows,
                               ficklenet_conv, ficklenet_conv_naive,
                               window_dropout_mask)


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize('k', [1, 3, 5])
def test_expanded_strided_conv_is_the_same_convolution(k):
    g = _generator()
    feats = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 3, k, k, generator=g, dtype=torch.float64)
    expanded = expand_windows(feats, k)
    assert expanded.shape == (2, 3, 4 * k, 5 * k)
    # block (i, j) is the zero-padded window centred on (i, j)
    padded = F.pad(feats, [k // 2] * 4)
    torch.testing.assert_close(expanded[:, :, 2 * k:3 * k, 4 * k:5 * k],
                               padded[:, :, 2:2 + k, 4:4 + k])
    torch.testing.assert_close(
        ficklenet_conv(feats, weight),
        F.conv2d(feats, weight, padding=k // 2))


@pytest.mark.parametrize('k,channels,center_fixed', [(3, 1, True),
                                                     (3, 3, False),
                                                     (5, 1, False)])
def test_expansion_trick_matches_per_position_dropout(k, channels,
                                                      center_fixed):
    g = _generator(1)
    feats = torch.randn(2, 3, 4, 5, generator=g, dtype=torch.float64)
    weight = torch.randn(4, 3, k, k, generator=g, dtype=torch.float64)
    bias = torch.randn(4, generator=g, dtype=torch.float64)
    mask = window_dropout_mask(
        2, (4, 5), k, 0.5, channels=channels, center_fixed=center_fixed,
        generator=g, dtype=torch.float64)
    # neighbouring positions draw different masks for the units they share
    blocks = mask.view(2, channels, 4, k, 5, k)
    assert not torch.equal(blocks[:, :, 1, :, 1], blocks[:, :, 1, :, 2])

    inputs = [t.clone().requires_grad_() for t in (feats, weight, bias)]
    fast = ficklenet_conv(inputs[0], inputs[1], mask, inputs[2])
    naive_inputs = [t.clone().requires_grad_() for t in (feats, weight, bias)]
    naive = ficklenet_conv_naive(naive_inputs[0], naive_inputs[1], mask,
                                 naive_inputs[2])
    torch.testing.assert_close(fast, naive)
    # the dropout really changes the result
    assert not torch.allclose(fast, ficklenet_conv(feats, weight, None, bias))
    upstream = torch.randn(fast.shape, generator=g, dtype=torch.float64)
    (fast * upstream).sum().backward()
    (naive * upstream).sum().backward()
    for a, b in zip(inputs, naive_inputs):
        torch.testing.assert_close(a.grad, b.grad)


def test_naive_reference_is_hand_computable():
    feats = torch.arange(4.).view(1, 1, 2, 2)  # [[0, 1], [2, 3]]
    weight = torch.ones(1, 1, 3, 3)
    mask = torch.zeros(1, 1, 6, 6)
    mask[0, 0, 1, 1] = 1  # position (0, 0): centre only -> 0
    mask[0, 0, 1, 3:6] = 1  # position (0, 1): middle row -> 0 + 1 + 0
    mask[0, 0, 3:6, 3:6] = 2  # position (1, 1): all, doubled -> 2 * 6
    expected = torch.tensor([[[[0., 1.], [0., 12.]]]])
    torch.testing.assert_close(ficklenet_conv_naive(feats, weight, mask),
                               expected)
    torch.testing.assert_close(ficklenet_conv(feats, weight, mask), expected)


def test_many_draws_share_one_expansion():
    g = _generator(2)
    feats = torch.randn(2, 3, 4, 4, generator=g)
    weight = torch.randn(5, 3, 3, 3, generator=g)
    masks = window_dropout_mask(3 * 2, (4, 4), 3, 0.7, generator=g)
    out = ficklenet_conv(feats, weight, masks.unflatten(0, (3, 2)))
    assert out.shape == (6, 5, 4, 4)
    for d in range(3):
        torch.testing.assert_close(
            out[2 * d:2 * d + 2],
            ficklenet_conv(feats, weight, masks[2 * d:2 * d + 2]))


@pytest.mark.parametrize('draws_per_batch', [1, 2, 4])
def test_batched_draws_equal_all_draws_at_once(draws_per_batch):
    g = _generator(8)
    feats = torch.randn(2, 3, 4, 5, generator=g)
    weight = torch.randn(5, 3, 3, 3, generator=g)
    bias = torch.randn(5, generator=g)
    masks = window_dropout_mask(
        5 * 2, (4, 5), 3, 0.7, channels=3,
        generator=g).unflatten(0, (5, 2))
    assert torch.equal(
        ficklenet_conv(feats, weight, masks, bias, draws_per_batch),
        ficklenet_conv(feats, weight, masks, bias))
    with pytest.raises(ValueError):
        ficklenet_conv(feats, weight, masks, bias, 0)


def test_window_dropout_mask_values_and_rate():
    mask = window_dropout_mask(
        4, (10, 10), 3, 0.75, generator=_generator(3))
    blocks = mask.view(4, 1, 10, 3, 10, 3)
    assert torch.all(blocks[:, :, :, 1, :, 1] == 1)  # centres kept as is
    off = torch.ones(3, 3, dtype=torch.bool)
    off[1, 1] = False
    values = blocks.permute(3, 5, 0, 1, 2, 4)[off]
    assert set(values.unique().tolist()) == {0.0, 4.0}
    assert (values > 0).float().mean().item() == pytest.approx(0.25, abs=0.05)
    free = window_dropout_mask(
        4, (10, 10), 3, 0.75, center_fixed=False, generator=_generator(3))
    assert (free == 0).any() and (free == 4).any() and not (free == 1).any()
    assert torch.equal(
        window_dropout_mask(1, (3, 3), 3, 0.5, generator=_generator(7)),
        window_dropout_mask(1, (3, 3), 3, 0.5, generator=_generator(7)))
    with pytest.raises(ValueError):
        window_dropout_mask(1, (3, 3), 2, 0.5)
    with pytest.raises(ValueError):
        window_dropout_mask(1, (3, 3), 3, 1.0)


def test_max_aggregation_is_the_union_of_the_draws_regions():
    g = _generator(4)
    draws = torch.rand(6, 2, 5, 7, generator=g)
    draws[:, 1] = 0  # a class whose CAM is all zero in every draw
    merged = aggregate_cam_draws(draws)
    assert merged.shape == (2, 5, 7)
    for t in (0.1, 0.3, 0.5, 0.9):
        torch.testing.assert_close(merged >= t, (draws >= t).any(dim=0))
    assert torch.all(merged[1] == 0)
    mean = aggregate_cam_draws(draws, 'mean')
    assert mean[0].max().item() == pytest.approx(1.0, abs=1e-4)
    torch.testing.assert_close(mean[0] * (draws[:, 0].mean(0).max() + 1e-5),
                               draws[:, 0].mean(0))
    assert torch.all(mean[1] == 0) and not mean.isnan().any()
    torch.testing.assert_close(aggregate_cam_draws(draws[:1]), draws[0])
    with pytest.raises(ValueError):
        aggregate_cam_draws(draws, 'median')


@pytest.mark.gpu
def test_a_cpu_generator_draws_the_same_mask_for_cuda():
    # drawn on the generator's device, then moved: the CPU's mask exactly
    cpu_mask = window_dropout_mask(2, (7, 6), 3, 0.8, generator=_generator(4))
    cuda_mask = window_dropout_mask(
        2, (7, 6), 3, 0.8, generator=_generator(4), device='cuda')
    assert cuda_mask.device.type == 'cuda'
    assert torch.equal(cuda_mask.cpu(), cpu_mask)
