# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsss.functional import (edge_to_affinity, get_path_index, random_walk,
                               rw_to_semantic_label, transition_matrix,
                               upsample_rw)
from mmwsss.models.irn.random_walk import resolve_walk_dtype

DATA = Path(__file__).parents[2] / 'data'


@pytest.fixture(scope='module')
def golden():
    return np.load(DATA / 'irn_random_walk_sem_seg.npz')


def _dense_reference(cams, edge, beta, exp_times, radius):
    """The reference operator with a dense matrix, in float64."""
    height, width = edge.shape
    padded = F.pad(
        edge[None, None].double(), (radius, radius, 0, radius), value=1.0)
    pi = get_path_index(radius, padded.shape[-2:])
    aff = edge_to_affinity(padded, pi)[0]
    n_pad = padded.shape[-2] * padded.shape[-1]
    dense = torch.eye(n_pad, dtype=torch.float64)
    _, src, dst = pi.tensors()
    src = src.expand_as(dst)
    dense[src, dst] = aff
    dense[dst, src] = aff
    real = torch.arange(n_pad).reshape(
        padded.shape[-2:])[:height, radius:radius + width].reshape(-1)
    dense = dense[real][:, real]**beta
    trans = dense / dense.sum(0, keepdim=True)
    for _ in range(exp_times):
        trans = trans @ trans
    x = (cams.double() * (1 - edge.double())).reshape(cams.shape[0], -1)
    return (x @ trans).reshape(cams.shape)


def _check_golden(golden, case, rw):
    """The golden tolerances: 1e-4 of the maximum, labels exact."""
    p = f'case{case}_'
    rw = rw.cpu()
    assert rw.shape == golden[p + 'cams'].shape and rw.dtype == torch.float32
    expected = golden[p + 'rw'][:, 0]
    np.testing.assert_allclose(
        rw.numpy(), expected, rtol=0, atol=1e-4 * expected.max())
    size = golden[p + 'orig_size_hw']
    up = upsample_rw(rw, size)
    np.testing.assert_allclose(
        up.numpy(), golden[p + 'rw_up_norm'], rtol=0, atol=1e-4)
    label = rw_to_semantic_label(rw, golden[p + 'keys'], size,
                                 float(golden['sem_seg_bg_thres']))
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, golden[p + 'sem_seg_label'])


def _golden_walk(golden, case, device='cpu', dtype=torch.float64):
    p = f'case{case}_'
    cams = torch.from_numpy(golden[p + 'cams']).to(device)
    edge = torch.from_numpy(golden[p + 'edge']).to(device)
    beta, exp_times, radius = (
        int(golden[k]) for k in ('beta', 'exp_times', 'radius'))
    return random_walk(cams, edge, beta, exp_times, radius, dtype=dtype)


@pytest.mark.parametrize('case', [0, 1, 2])
def test_float32_random_walk_matches_reference(golden, case):
    # Measured: within 2.7e-5 of the maximum (float64: 3.5e-5).
    _check_golden(golden, case, _golden_walk(golden, case, dtype='float32'))


def test_random_walk_dtype_option():
    assert resolve_walk_dtype('float32') == torch.float32
    assert resolve_walk_dtype('torch.float64') == torch.float64
    assert resolve_walk_dtype(torch.float32) == torch.float32
    gen = torch.Generator().manual_seed(0)
    cams = torch.rand(2, 9, 11, generator=gen)
    edge = torch.rand(9, 11, generator=gen)**2
    double = random_walk(cams, edge, exp_times=4)
    assert torch.equal(double,
                       random_walk(cams, edge, exp_times=4, dtype='float64'))
    single = random_walk(cams, edge, exp_times=4, dtype='float32')
    assert single.dtype == torch.float32
    assert not torch.equal(single, double)
    torch.testing.assert_close(single, double, rtol=0, atol=1e-5)
    for bad in ('float16', torch.bfloat16, 'double64'):
        with pytest.raises(ValueError, match='float32 or float64'):
            random_walk(cams, edge, exp_times=4, dtype=bad)
    # A float32 matrix is the float64 one rounded.
    exact = transition_matrix(edge)
    rounded = transition_matrix(edge, dtype=torch.float32)
    assert rounded.values().dtype == torch.float32
    assert torch.equal(rounded.values(), exact.values().float())
    assert torch.equal(rounded.col_indices(), exact.col_indices())


@pytest.mark.parametrize('case', [0, 1, 2])
def test_random_walk_matches_reference(golden, case):
    p = f'case{case}_'
    cams = torch.from_numpy(golden[p + 'cams'])
    edge = torch.from_numpy(golden[p + 'edge'])
    beta, exp_times, radius = (
        int(golden[k]) for k in ('beta', 'exp_times', 'radius'))

    padded = F.pad(edge[None], (radius, radius, 0, radius), value=1.0)
    np.testing.assert_allclose(
        edge_to_affinity(padded, get_path_index(radius,
                                                padded.shape[-2:])).numpy(),
        golden[p + 'sparse_aff_padded'],
        rtol=1e-6,
        atol=1e-7)

    rw = random_walk(cams, edge, beta, exp_times, radius)
    assert rw.shape == cams.shape and rw.dtype == torch.float32
    expected = golden[p + 'rw'][:, 0]
    np.testing.assert_allclose(
        rw.numpy(), expected, rtol=0, atol=1e-4 * expected.max())

    size = golden[p + 'orig_size_hw']
    up = upsample_rw(rw, size)
    np.testing.assert_allclose(
        up.numpy(), golden[p + 'rw_up_norm'], rtol=0, atol=1e-4)
    label = rw_to_semantic_label(rw, golden[p + 'keys'], size,
                                 float(golden['sem_seg_bg_thres']))
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, golden[p + 'sem_seg_label'])


def test_random_walk_equals_dense_operator():
    gen = torch.Generator().manual_seed(0)
    cams = torch.rand(2, 9, 11, generator=gen)
    edge = torch.rand(9, 11, generator=gen)**2
    for radius, beta in ((5, 10), (3, 2)):
        expected = _dense_reference(cams, edge, beta, 4, radius)
        got = random_walk(cams.double(), edge, beta, 4, radius)
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-12)


def test_transition_matrix_structure():
    edge = torch.zeros(6, 8)
    edge[:, 3] = 1.0  # a full wall: no pair crosses column 3
    sparse = transition_matrix(edge, beta=10, radius=5)
    # Valid CSR: sorted, distinct columns in every row.
    torch.sparse_csr_tensor(
        sparse.crow_indices(),
        sparse.col_indices(),
        sparse.values(),
        sparse.shape,
        check_invariants=True)
    trans = sparse.to_dense()
    np.testing.assert_allclose(trans.sum(1).numpy(), 1.0, atol=1e-12)
    # Symmetric pattern, at most 69 nonzeros (68 neighbours + self) per row.
    assert torch.equal(trans > 0, (trans > 0).T)
    assert (trans > 0).sum(1).max() <= 69
    cols = torch.arange(48) % 8
    left, right = cols < 3, cols > 3
    assert trans[left][:, right].abs().sum() == 0
    # Column 3 pixels only keep themselves.
    wall = cols == 3
    torch.testing.assert_close(trans[wall][:, wall],
                               torch.eye(6, dtype=torch.float64))


def test_random_walk_preserves_constants():
    # Without boundaries the walk averages: a constant map stays constant.
    cams = torch.full((1, 7, 10), 0.5)
    rw = random_walk(cams, torch.zeros(7, 10), exp_times=3)
    np.testing.assert_allclose(rw.numpy(), 0.5, rtol=1e-6)


@pytest.mark.gpu
def test_random_walk_cuda_matches_cpu(golden):
    cams = torch.from_numpy(golden['case1_cams'])
    edge = torch.from_numpy(golden['case1_edge'])
    cpu = random_walk(cams, edge)
    gpu = random_walk(cams.cuda(), edge.cuda())
    assert gpu.is_cuda
    np.testing.assert_allclose(
        gpu.cpu().numpy(), cpu.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.gpu
@pytest.mark.parametrize('case', [0, 1, 2])
def test_float32_cuda_walk_matches_float64_cpu(golden, case):
    cpu = _golden_walk(golden, case)
    gpu = _golden_walk(golden, case, 'cuda', dtype='float32')
    assert gpu.is_cuda
    # The golden tolerance, 1e-4 of the maximum (measured on the CPU:
    # float32 is within 5.3e-5 of the maximum of float64).
    np.testing.assert_allclose(
        gpu.cpu().numpy(), cpu.numpy(), rtol=0, atol=1e-4 * cpu.max().item())
    _check_golden(golden, case, gpu)


def test_all_zero_cams_give_background():
    from mmwsss.models.irn.random_walk import rw_to_semantic_label
    rw = random_walk(torch.zeros(2, 6, 7), torch.zeros(6, 7), exp_times=2)
    label = rw_to_semantic_label(rw, [3, 5], (23, 26))
    assert label.shape == (23, 26) and not label.any()
