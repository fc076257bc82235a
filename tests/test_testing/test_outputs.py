# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import torch
from mmengine.structures import BaseDataElement, PixelData

from mmwsss.testing import output_arrays


def test_output_arrays_walks_samples_and_losses_in_order():
    sample = BaseDataElement(
        cams=torch.ones(2, 3), ids=np.array([1, 4]),
        seg=PixelData(data=torch.zeros(1, 2, 2, dtype=torch.uint8)))
    outputs = [sample, dict(loss=torch.tensor(0.5), note='text', n=3)]
    found = dict(output_arrays(outputs))
    assert sorted(found) == ['[0].cams', '[0].ids', '[0].seg.data',
                             '[1].loss']
    assert found['[0].cams'].shape == (2, 3)
    assert found['[0].seg.data'].dtype == np.uint8
    np.testing.assert_array_equal(found['[0].ids'], [1, 4])
    assert float(found['[1].loss']) == 0.5
    # a tensor that requires grad is detached
    (_, array), = output_arrays(torch.ones(2, requires_grad=True) * 2)
    np.testing.assert_array_equal(array, [2, 2])
