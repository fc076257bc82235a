# Copyright (c) mmwsss contributors. All rights reserved.
import pytest
import torch

from mmwsss.models.moana import CBAMNeck, ECANeck, SENeck
from mmwsss.registry import MODELS


@pytest.mark.parametrize('cls', [SENeck, CBAMNeck, ECANeck])
def test_shapes_and_contract(cls):
    neck = cls(in_channels=32)
    x = torch.rand(2, 32, 5, 7, requires_grad=True)
    out, att = neck.forward_with_attention(x)
    assert out.shape == x.shape
    assert att['channel'].shape == (2, 32, 1, 1)
    assert 0 < att['channel'].min() and att['channel'].max() < 1
    torch.testing.assert_close(neck(x), out)
    low = torch.rand(2, 8, 10, 14)
    outs = neck((low, x))
    assert isinstance(outs, tuple) and outs[0] is low
    torch.testing.assert_close(outs[1], out)
    out.sum().backward()
    assert all(p.grad is not None for p in neck.parameters())
    assert isinstance(
        MODELS.build(dict(type=f'mmwsss.{cls.__name__}', in_channels=32)), cls)


def test_se_formula():
    neck = SENeck(in_channels=32, ratio=8)
    assert neck.reduce.out_channels == 4
    x = torch.rand(2, 32, 3, 3)
    out, att = neck.forward_with_attention(x)
    squeezed = x.mean(dim=(2, 3), keepdim=True)
    expected = torch.sigmoid(neck.expand(torch.relu(neck.reduce(squeezed))))
    torch.testing.assert_close(att['channel'], expected)
    torch.testing.assert_close(out, x * expected)


def test_cbam_attentions():
    neck = CBAMNeck(in_channels=32, spatial_kernel_size=3)
    x = torch.rand(2, 32, 5, 7)
    out, att = neck.forward_with_attention(x)
    assert att['spatial'].shape == (2, 1, 5, 7)
    torch.testing.assert_close(out, x * att['channel'] * att['spatial'])
    with pytest.raises(ValueError):
        CBAMNeck(in_channels=32, spatial_kernel_size=4)


@pytest.mark.parametrize('channels, expected', [(64, 3), (256, 5), (512, 5),
                                                (2048, 7)])
def test_eca_adaptive_kernel(channels, expected):
    assert ECANeck(in_channels=channels).kernel_size == expected
    assert ECANeck(in_channels=channels, kernel_size=9).kernel_size == 9
    with pytest.raises(ValueError):
        ECANeck(in_channels=channels, kernel_size=2)
