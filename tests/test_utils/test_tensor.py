# Copyright (c) mmwsss contributors. All rights reserved.
import os
import os.path as osp
import re

import numpy as np
import torch

from mmwsss.testing import REPO_ROOT, DeviceLikeTensor
from mmwsss.utils import to_numpy

# The one home of tensor -> NumPy conversion, and the harness that imitates
# device tensors.
_ALLOWED = {
    osp.join('mmwsss', 'utils', 'tensor.py'),
    osp.join('mmwsss', 'testing', 'device.py'),
}


def test_to_numpy():
    t = torch.arange(4.).reshape(2, 2).requires_grad_()
    np.testing.assert_array_equal(to_numpy(t), [[0, 1], [2, 3]])
    # a tensor that, like a CUDA one, refuses .numpy() without .cpu()
    np.testing.assert_array_equal(
        to_numpy(t.as_subclass(DeviceLikeTensor)), [[0, 1], [2, 3]])
    assert to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32
    array = np.zeros(3, np.float32)
    assert to_numpy(array) is array
    assert to_numpy((1, 2), np.int64).dtype == np.int64


def test_no_host_conversion_outside_to_numpy():
    """Tensors that may come from a model reach NumPy through
    :func:`mmwsss.utils.to_numpy` only (a CUDA tensor refuses ``.numpy()``)."""
    offenders = []
    for top in ('mmwsss', 'tools'):
        for folder, _, files in os.walk(osp.join(REPO_ROOT, top)):
            for name in files:
                path = osp.join(folder, name)
                rel = osp.relpath(path, REPO_ROOT)
                if not name.endswith('.py') or rel in _ALLOWED:
                    continue
                with open(path) as f:
                    for number, line in enumerate(f, 1):
                        if re.search(r'\.numpy\(\)', line):
                            offenders.append(f'{rel}:{number}: {line.strip()}')
    assert not offenders, '\n'.join(offenders)
