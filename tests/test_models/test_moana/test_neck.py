# Copyright (c) mmwsss contributors. All rights reserved.
import importlib.util
from importlib import import_module
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.models.moana import MoANA

REPO = Path(__file__).parents[3]
GOLDEN = REPO / 'tests' / 'data' / 'moana_module.npz'
# The official WSOL module is the residual form, the WSSS one the affine form.
VARIANTS = dict(
    wsol=dict(calibration='residual'),
    wsss=dict(calibration='affine', affine=(0.35, 0.65)))


def _load_converter():
    path = REPO / 'tools' / 'model_converters' / 'moana2mmwsss.py'
    spec = importlib.util.spec_from_file_location('moana2mmwsss', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return {key: data[key] for key in data.files}


def _golden_moana(golden, variant):
    params = {
        key[len('param.'):]: torch.from_numpy(value)
        for key, value in golden.items() if key.startswith('param.')
    }
    neck = MoANA(
        in_channels=8,
        norm_cfg=dict(
            type='BN',
            momentum=float(golden['bn_momentum']),
            eps=float(golden['bn_eps'])),
        **VARIANTS[variant])
    neck.load_state_dict(_load_converter().convert(params), strict=True)
    return neck


@pytest.mark.parametrize('variant', ['wsol', 'wsss'])
@pytest.mark.parametrize('mode', ['eval', 'train'])
@pytest.mark.parametrize('batch', ['b3', 'flip_pair'])
def test_moana_matches_official(golden, variant, mode, batch):
    neck = _golden_moana(golden, variant).train(mode == 'train')
    x = torch.from_numpy(golden[f'input_{batch}'])
    with torch.no_grad():
        out, att = neck.forward_with_attention(x)
    prefix = f'{variant}_{mode}_{batch}_'
    # BN on two identical channel descriptors divides ~1e-7 by sqrt(eps),
    # which amplifies float rounding (golden README section 9).
    atol = 1e-4 if (mode, batch) == ('train', 'flip_pair') else 1e-5
    np.testing.assert_allclose(
        out.numpy(), golden[prefix + 'output'], rtol=0, atol=atol)
    for view, suffix in (('channel', 'c'), ('height', 'h'), ('width', 'w')):
        np.testing.assert_allclose(
            att[view].numpy(),
            golden[f'{prefix}att_{suffix}'],
            rtol=0,
            atol=atol)
    if mode == 'train':
        for index, view in enumerate(('channel', 'height', 'width'), 1):
            norm = neck.norms[view]
            for stat in ('running_mean', 'running_var'):
                np.testing.assert_allclose(
                    getattr(norm, stat).numpy(),
                    golden[f'{prefix}bn{index}_{stat}_after'],
                    rtol=1e-5,
                    atol=1e-6)


def test_moana_tensor_and_tuple_contract():
    neck = MoANA(in_channels=6).eval()
    x = torch.rand(2, 6, 5, 7)
    assert neck(x).shape == x.shape
    low = torch.rand(2, 3, 10, 14)
    outs = neck([low, x])
    assert isinstance(outs, tuple) and len(outs) == 2
    # Only the last level is calibrated by default.
    assert outs[0] is low
    torch.testing.assert_close(outs[1], neck(x))
    first = MoANA(in_channels=3, in_index=0).eval()
    outs = first((low, x))
    assert outs[0].shape == low.shape and outs[1] is x
    with pytest.raises(TypeError):
        neck({'x': x})


def test_moana_calibrations_and_attention():
    torch.manual_seed(0)
    x = torch.rand(2, 4, 3, 5)
    residual = MoANA(in_channels=4).eval()
    multiply = MoANA(in_channels=4, calibration='multiply').eval()
    affine = MoANA(in_channels=4, calibration='affine', affine=(0.2, 0.5))
    multiply.load_state_dict(residual.state_dict())
    affine.load_state_dict(residual.state_dict())
    affine.eval()
    out, att = residual.forward_with_attention(x)
    full = att['full']
    assert full.shape == x.shape
    torch.testing.assert_close(full,
                               att['channel'] + att['height'] + att['width'])
    assert 0 < full.min() and full.max() < 3
    torch.testing.assert_close(out, x * (1 + full))
    torch.testing.assert_close(multiply(x), x * full)
    torch.testing.assert_close(affine(x), x * (0.2 + 0.5 * full))

    squashed = MoANA(in_channels=4, sigmoid_after_sum=True).eval()
    squashed.load_state_dict(residual.state_dict())
    out, att = squashed.forward_with_attention(x)
    torch.testing.assert_close(att['full'], torch.sigmoid(full))
    torch.testing.assert_close(out, x * (1 + torch.sigmoid(full)))


@pytest.mark.parametrize('views', [('channel', ), ('height', ), ('width', ),
                                   ('width', 'channel')])
def test_moana_view_subsets(views):
    neck = MoANA(in_channels=4, views=views).eval()
    assert tuple(neck.convs) == tuple(
        v for v in ('channel', 'height', 'width') if v in views)
    x = torch.rand(2, 4, 3, 5)
    out, att = neck.forward_with_attention(x)
    assert out.shape == x.shape and att['full'].shape == x.shape
    assert set(att) == set(views) | {'full'}
    torch.testing.assert_close(out, x * (1 + sum(att[v] for v in views)))


def test_moana_parameters_and_depthwise():
    c, k = 16, 5
    dense = MoANA(in_channels=c, kernel_size=k)
    assert dense.convs['channel'].weight.shape == (1, 1, k)
    assert dense.convs['height'].weight.shape == (c, c, k)
    assert dense.convs['width'].weight.shape == (c, c, k)
    assert all(conv.bias is None for conv in dense.convs.values())
    depthwise = MoANA(in_channels=c, kernel_size=k, depthwise=True)
    assert depthwise.convs['height'].weight.shape == (c, 1, k)
    assert depthwise(torch.rand(2, c, 4, 6)).shape == (2, c, 4, 6)


def test_moana_backward_and_norm_cfg():
    neck = MoANA(in_channels=4, norm_cfg=dict(type='GN', num_groups=2))
    x = torch.rand(1, 4, 3, 5, requires_grad=True)
    neck(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is not None for p in neck.parameters())


@pytest.mark.parametrize('kwargs', [
    dict(kernel_size=4),
    dict(views=()),
    dict(views=('channel', 'channel')),
    dict(views=('depth', )),
    dict(calibration='sum'),
])
def test_moana_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        MoANA(in_channels=4, **kwargs)


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmseg', 'mmdet'])
def test_moana_builds_in_every_host_scope(scope):
    """Configs of the three hosts reach the neck through the prefix."""
    from mmengine.registry import DefaultScope, init_default_scope
    host = import_module(f'{scope}.registry').MODELS
    init_default_scope(scope)
    with DefaultScope.overwrite_default_scope(scope):
        neck = host.build(
            dict(type='mmwsss.MoANA', in_channels=4, calibration='affine'))
    assert isinstance(neck, MoANA) and neck.affine == (0.35, 0.65)
    assert neck(torch.randn(2, 4, 3, 5)).shape == (2, 4, 3, 5)
