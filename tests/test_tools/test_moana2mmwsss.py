# Copyright (c) mmwsss contributors. All rights reserved.
import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from mmpretrain.models import ResNet
from torch import nn

from mmwsss.models.moana import MoANA

SCRIPT = (
    Path(__file__).parents[2] / 'tools' / 'model_converters' /
    'moana2mmwsss.py')


@pytest.fixture(scope='module')
def converter():
    spec = importlib.util.spec_from_file_location('moana2mmwsss', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _official_module_state(channels):
    """Keys and shapes of the official module (`moana`, k_size=3)."""
    state = {
        'conv_c.weight': torch.randn(1, 1, 3),
        'conv_h.weight': torch.randn(channels, channels, 3),
        'conv_w.weight': torch.randn(channels, channels, 3),
    }
    for i in (1, 2, 3):
        state.update({
            f'bn{i}.weight': torch.rand(channels),
            f'bn{i}.bias': torch.rand(channels),
            f'bn{i}.running_mean': torch.rand(channels),
            f'bn{i}.running_var': torch.rand(channels),
            f'bn{i}.num_batches_tracked': torch.tensor(3),
        })
    return state


def test_convert_bare_module(converter):
    official = _official_module_state(8)
    converted = converter.convert(official)
    neck = MoANA(in_channels=8)
    neck.load_state_dict(converted, strict=True)
    assert torch.equal(neck.convs['height'].weight, official['conv_h.weight'])
    assert torch.equal(neck.norms['channel'].running_var,
                       official['bn1.running_var'])
    assert torch.equal(neck.norms['width'].bias, official['bn3.bias'])
    # `DataParallel` checkpoints carry a `module.` prefix.
    prefixed = converter.convert({
        f'module.{k}': v
        for k, v in official.items()
    })
    assert list(prefixed) == list(converted)


def test_convert_whole_network(converter):
    # torchvision's ResNet-50 and mmpretrain's share their key names, so an
    # mmpretrain state dict stands in for the official backbone.
    backbone = ResNet(depth=50, strides=(1, 2, 1, 1))
    official = {
        f'module.{k}': v.clone()
        for k, v in backbone.state_dict().items()
    }
    official.update({
        f'module.layer4.3.{k}': v
        for k, v in _official_module_state(2048).items()
    })
    official['module.classifier.weight'] = torch.randn(5, 2048, 1, 1)
    official['module.classifier.bias'] = torch.randn(5)

    converted = converter.convert(official)
    model = nn.Module()
    model.backbone = ResNet(depth=50, strides=(1, 2, 1, 1))
    model.neck = MoANA(in_channels=2048)
    model.head = nn.Module()
    model.head.classifier = nn.Conv2d(2048, 5, 1)
    model.load_state_dict(converted, strict=True)
    assert torch.equal(model.backbone.layer3[0].downsample[1].running_mean,
                       official['module.layer3.0.downsample.1.running_mean'])
    assert torch.equal(model.neck.convs['width'].weight,
                       official['module.layer4.3.conv_w.weight'])
    assert torch.equal(model.head.classifier.weight,
                       official['module.classifier.weight'])

    custom = converter.convert(
        official, backbone_prefix='b.', neck_prefix='n.', head_prefix='h.')
    assert 'b.conv1.weight' in custom and 'n.convs.channel.weight' in custom
    assert 'h.bias' in custom
    # The plain CAM ResNet's linear `fc` becomes a 1x1 convolution.
    fc = converter.convert({
        'conv1.weight': torch.ones(1),
        'fc.weight': torch.ones(5, 2048)
    })
    assert fc['head.classifier.weight'].shape == (5, 2048, 1, 1)


def test_convert_rejects_unknown_keys(converter):
    with pytest.raises(KeyError):
        converter.convert({
            'conv_c.weight': torch.ones(1, 1, 3),
            'gate.weight': torch.ones(1)
        })
    with pytest.raises(KeyError):
        converter.convert({
            'conv1.weight': torch.ones(1),
            'aux.weight': torch.ones(1)
        })


def test_cli(converter, tmp_path, monkeypatch):
    official = _official_module_state(4)
    src, dst = tmp_path / 'official.pth', tmp_path / 'out' / 'mmwsss.pth'
    torch.save({'state_dict': official, 'epoch': 3}, src)
    monkeypatch.setattr(sys, 'argv', ['moana2mmwsss.py', str(src), str(dst)])
    converter.main()
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert set(saved) == set(converter.convert(official))
    MoANA(in_channels=4).load_state_dict(saved, strict=True)

    network = {
        'conv1.weight': torch.ones(1),
        'layer4.3.conv_c.weight': torch.ones(1)
    }
    torch.save(network, src)
    monkeypatch.setattr(
        sys, 'argv',
        ['moana2mmwsss.py',
         str(src),
         str(dst), '--neck-prefix', 'neck.0.'])
    converter.main()
    saved = torch.load(dst, weights_only=True)['state_dict']
    assert set(saved) == {
        'backbone.conv1.weight', 'neck.0.convs.channel.weight'
    }
