# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import merge_multiscale_cams, scaled_size, strided_size

GOLDEN = Path(__file__).parents[2] / 'data' / 'irn_make_cam.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _raw_maps(golden, case):
    return [golden[f'case{case}_raw_scale{s}'] for s in golden['scales']]


def test_sizes(golden):
    assert scaled_size((375, 333), 0.5) == (188, 166)
    assert scaled_size((93, 127), 0.5) == (46, 64)
    assert scaled_size((45, 33), 1.5) == (68, 50)
    for case in range(3):
        size = tuple(golden[f'case{case}_size_hw'])
        assert strided_size(size) == tuple(golden[f'case{case}_strided_size'])
        assert tuple(s * 16 for s in strided_size(size, 16)) == tuple(
            golden[f'case{case}_strided_up_size'])
        # The feature size of each scale is ceil(scaled side / 16).
        for scale in golden['scales']:
            raw = golden[f'case{case}_raw_scale{scale}']
            assert strided_size(scaled_size(size, scale), 16) == raw.shape[2:]


@pytest.mark.parametrize('case', [0, 1, 2])
def test_merge_matches_golden(golden, case):
    keys = golden[f'case{case}_keys']
    strided, high_res = merge_multiscale_cams(
        _raw_maps(golden, case), golden[f'case{case}_size_hw'],
        torch.from_numpy(keys))
    assert strided.dtype == high_res.dtype == torch.float32
    np.testing.assert_allclose(
        strided.numpy(), golden[f'case{case}_cam_strided'], atol=1e-5)
    np.testing.assert_allclose(
        high_res.numpy(), golden[f'case{case}_high_res'], atol=1e-5)


def test_merge_all_classes_and_torch_inputs(golden):
    keys = golden['case0_keys']
    raw = [torch.from_numpy(r) for r in _raw_maps(golden, 0)]
    strided, high_res = merge_multiscale_cams(raw, (93, 127))
    assert strided.shape == (20, 24, 32) and high_res.shape == (20, 93, 127)
    np.testing.assert_allclose(
        strided[keys].numpy(), golden['case0_cam_strided'], atol=1e-5)
    # Case 0 class 5 is all zero: 0 / (0 + 1e-5) stays 0.
    assert high_res[5].abs().max() == 0


def test_merge_single_scale_by_hand():
    # One scale at full stride-4 size: the resize is the identity.
    raw = torch.tensor([[[[1., -2.], [3., 4.]]], [[[-1., 2.], [0., 5.]]]])
    strided, _ = merge_multiscale_cams([raw], (5, 5))
    cam = torch.tensor([[1 + 2, 0 + 0], [3 + 5, 4 + 0]]) / (8 + 1e-5)
    torch.testing.assert_close(strided[0], cam)
    strided, high_res = merge_multiscale_cams([raw], (5, 6), keys=[])
    assert strided.shape == (0, 2, 2) and high_res.shape == (0, 5, 6)
    with pytest.raises(ValueError):
        merge_multiscale_cams([], (5, 5))
