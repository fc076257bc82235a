# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import InstanceData
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor
from mmpretrain.structures import DataSample

from mmwsss.testing import (DeviceLikeTensor, HostTransferError,
                            as_device_like, count_host_syncs,
                            device_like_inputs)


def _device_like(*shape):
    return torch.arange(float(np.prod(shape))).reshape(shape).as_subclass(
        DeviceLikeTensor)


@pytest.mark.parametrize('convert', [
    lambda t: t.numpy(),
    lambda t: t.detach().numpy(),
    lambda t: np.asarray(t),
    lambda t: np.array(t, dtype=np.float32),
    lambda t: t.to(torch.float64).numpy(),
])
def test_host_conversion_without_cpu_is_refused(convert):
    with pytest.raises(HostTransferError, match='use .cpu'):
        convert(_device_like(2, 3))


@pytest.mark.parametrize('to_host', [
    lambda t: t.cpu(),
    lambda t: t.to('cpu'),
    lambda t: t.to(torch.device('cpu')),
    lambda t: t.to(device='cpu', dtype=torch.float64),
    lambda t: t.detach().cpu(),
])
def test_cpu_gives_a_plain_tensor(to_host):
    host = to_host(_device_like(2, 3))
    assert type(host) is torch.Tensor
    np.testing.assert_array_equal(host.numpy(), np.arange(6.).reshape(2, 3))


def test_the_property_follows_every_operation_and_autograd():
    x = _device_like(1, 3, 8, 8).requires_grad_()
    conv = torch.nn.Conv2d(3, 2, 3)
    y = torch.relu(conv(x)).flatten(1).max(1)[0]
    for value in (y, y[0], y.to(torch.float64), torch.stack([y, y]),
                  y.argmax(), x.detach()):
        assert isinstance(value, DeviceLikeTensor)
    y.sum().backward()
    assert x.grad is not None and conv.weight.grad is not None
    # scalar reads work, as on a GPU
    assert isinstance(y.sum().item(), float) and len(y.tolist()) == 1


def test_count_host_syncs():
    x = _device_like(5)
    with count_host_syncs() as syncs:
        y = (x * 2 + 1).softmax(0)  # no sync
        y.sum().item()
        if (y > 0.5).any():
            pass
        x[x > 2]
        y.cpu()
        with count_host_syncs() as inner:
            float(y.max())
        torch.nonzero(x)
    assert syncs['ops'] == [
        'item', 'bool', 'boolean index', 'cpu', 'float', 'nonzero'
    ]
    assert inner['count'] == 1
    # plain tensors are not counted
    with count_host_syncs() as syncs:
        torch.ones(3).sum().item()
    assert syncs['count'] == 0


def test_device_like_inputs_wraps_what_preprocessors_cast():
    sample = DataSample().set_gt_label([1, 2])
    sample.extra = InstanceData(boxes=torch.zeros(2, 4))
    data = dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)],
                data_samples=[sample])
    preprocessor = ClsDataPreprocessor(num_classes=3)
    with device_like_inputs():
        out = preprocessor(data)
        cast = BaseDataPreprocessor().cast_data(
            dict(a=[torch.ones(2)], samples=[sample]))
    assert isinstance(out['inputs'], DeviceLikeTensor)
    # mmpretrain leaves data samples on the host, on a GPU too
    assert type(out['data_samples'][0].gt_label) is torch.Tensor
    assert isinstance(cast['a'][0], DeviceLikeTensor)
    assert isinstance(cast['samples'][0].gt_label, DeviceLikeTensor)
    assert isinstance(cast['samples'][0].extra.boxes, DeviceLikeTensor)
    # restored afterwards
    plain = preprocessor(data)
    assert type(plain['inputs']) is torch.Tensor
    nested = as_device_like(sample)
    assert isinstance(nested.extra.boxes, DeviceLikeTensor)
    assert nested.metainfo == sample.metainfo
