# Copyright (c) mmwsss contributors. All rights reserved.
from types import SimpleNamespace

import torch
from torch import nn

from mmwsss.engine.hooks import ChannelsLastHook


def _model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(8, 4, 1))


def test_channels_last_hook_converts_in_place_and_keeps_outputs():
    model = _model().eval()
    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=0.1)
    x = torch.randn(2, 3, 12, 10)
    with torch.no_grad():
        expected = model(x)
    ChannelsLastHook().before_run(SimpleNamespace(model=model))
    weight = model[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    # the same Parameter objects: an optimizer built before the run keeps
    # training them
    assert list(model.parameters()) == params
    assert optimizer.param_groups[0]['params'][0] is weight
    with torch.no_grad():
        out = model(x)
    # the network runs NHWC from an NCHW input on
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # a checkpoint loaded afterwards is copied into the NHWC tensors
    model.load_state_dict(_model().state_dict())
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
