# Copyright (c) mmwsss contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwsss.models import ASPPv2Head


def _head(**kwargs):
    cfg = dict(in_channels=8, num_classes=5)
    cfg.update(kwargs)
    return ASPPv2Head(**cfg)


def test_output_is_the_sum_of_four_dilated_convs():
    torch.manual_seed(0)
    head = _head()
    head.init_weights()
    # Non-zero biases so that they are part of the check.
    for conv in head.aspp_convs:
        conv.bias.data.normal_()
    x = torch.randn(2, 8, 13, 11)
    out = head([x])
    assert out.shape == (2, 5, 13, 11)
    expected = sum(
        F.conv2d(x, conv.weight, conv.bias, padding=rate, dilation=rate)
        for conv, rate in zip(head.aspp_convs, (6, 12, 18, 24)))
    torch.testing.assert_close(out, expected)


def test_structure_has_no_conv_seg_norm_or_activation():
    head = _head(dilations=(2, 4))
    assert not hasattr(head, 'conv_seg')
    assert head.dropout is None
    modules = list(head.modules())
    assert not any(
        isinstance(m, (torch.nn.BatchNorm2d, torch.nn.ReLU)) for m in modules)
    assert [(c.dilation, c.padding, c.kernel_size)
            for c in head.aspp_convs] == [((2, 2), (2, 2), (3, 3)),
                                          ((4, 4), (4, 4), (3, 3))]
    # Every parameter is used by forward (no DDP find_unused_parameters).
    head([torch.randn(1, 8, 9, 9)]).sum().backward()
    assert all(p.grad is not None for p in head.parameters())


def test_init_is_normal_0_01_with_zero_bias():
    torch.manual_seed(0)
    head = _head(in_channels=256, num_classes=21)
    head.init_weights()
    weights = torch.cat([c.weight.flatten() for c in head.aspp_convs])
    assert abs(weights.mean().item()) < 1e-3
    assert weights.std().item() == pytest.approx(0.01, rel=0.05)
    for conv in head.aspp_convs:
        assert torch.count_nonzero(conv.bias) == 0


def test_selects_the_input_feature_and_computes_the_loss():
    head = _head(in_channels=4, num_classes=3, in_index=0)
    feats = [torch.randn(2, 4, 6, 6), torch.randn(2, 9, 3, 3)]
    samples = []
    for _ in range(2):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, 3, (1, 24, 24)))
        samples.append(sample)
    losses = head.loss(feats, samples, train_cfg={})
    assert losses['loss_ce'] > 0
    logits = head.predict(
        feats, [dict(img_shape=(24, 24), pad_shape=(24, 24))] * 2,
        test_cfg={})
    assert logits.shape == (2, 3, 24, 24)


def test_rejects_empty_dilations():
    with pytest.raises(ValueError):
        _head(dilations=())
