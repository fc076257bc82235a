# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (PathIndex, affinity_labels, edge_to_affinity,
                               get_path_index)
from mmwsss.models.irn.path_index import take_last

DATA = Path(__file__).parents[2] / 'data'
GRIDS = ['r5_12x15', 'r5_20x20', 'r5_24x30', 'r10_20x20', 'r10_24x30']


def _parse(key):
    radius, size = key[1:].split('_')
    return int(radius), tuple(int(s) for s in size.split('x'))


@pytest.mark.parametrize('key', GRIDS)
def test_path_index_matches_reference(key):
    golden = np.load(DATA / 'irn_path_index.npz')
    radius, size = _parse(key)
    pi = PathIndex(radius, size)
    p = key + '_'
    assert pi.radius_floor == golden[p + 'radius_floor']
    np.testing.assert_array_equal(pi.search_dst, golden[p + 'search_dst'])
    assert pi.path_lengths == golden[p + 'path_lengths'].tolist()
    assert [len(paths) for paths in pi.search_paths
            ] == golden[p + 'dirs_per_length'].tolist()
    for length, paths, indices in zip(pi.path_lengths, pi.search_paths,
                                      pi.path_indices):
        np.testing.assert_array_equal(paths,
                                      golden[f'{p}search_paths_L{length}'])
        np.testing.assert_array_equal(indices,
                                      golden[f'{p}path_indices_L{length}'])
    np.testing.assert_array_equal(pi.src_indices, golden[p + 'src_indices'])
    np.testing.assert_array_equal(pi.dst_indices, golden[p + 'dst_indices'])
    assert pi.num_directions == len(golden[p + 'search_dst'])
    assert pi.num_sources == len(golden[p + 'src_indices'])


def test_path_index_grid_limits():
    # The reference fails on r=10, 12x15 (cropped width 15 - 18 < 0).
    with pytest.raises(ValueError, match='too small'):
        PathIndex(10, (12, 15))
    with pytest.raises(ValueError):
        PathIndex(5, (4, 20))
    with pytest.raises(ValueError):
        PathIndex(5, (20, 8))
    # Smallest valid grid: a single source pixel.
    assert PathIndex(5, (5, 9)).num_sources == 1


def test_path_index_cache_and_immutability():
    pi = get_path_index(5, (20, 20))
    assert get_path_index(5, (20, 20)) is pi
    with pytest.raises(ValueError):
        pi.src_indices[0] = 1
    indices, src, dst = pi.tensors('cpu')
    assert pi.tensors(torch.device('cpu'))[1] is src
    assert indices[0].dtype == torch.int64
    np.testing.assert_array_equal(dst.numpy(), pi.dst_indices)


@pytest.mark.parametrize('key', ['r10_20x20', 'r5_20x20', 'r10_32x40'])
def test_affinity_labels_match_reference(key):
    golden = np.load(DATA / 'irn_affinity_labels.npz')
    # The 20x20 labels are the PIL-nearest x0.25 reduction of the full map.
    np.testing.assert_array_equal(golden['label_full_80x80'][2::4, 2::4],
                                  golden['label_reduced_20x20'])
    label = golden[key + '_label']
    radius, _ = _parse(key)
    out = affinity_labels(label, PathIndex(radius, label.shape))
    for name, value in zip(('bg_pos', 'fg_pos', 'neg'), out):
        assert value.dtype == bool
        np.testing.assert_array_equal(value, golden[f'{key}_{name}'] > 0)


def test_affinity_labels_ignore_and_shape_check():
    # Radius 2: directions (0,1), (1,-1), (1,0), (1,1); sources are the
    # pixels (0,1), (0,2), (1,1), (1,2).
    pi = PathIndex(2, (3, 4))
    label = np.zeros((3, 4), np.uint8)
    label[:, 2:] = 255
    bg_pos, fg_pos, neg = affinity_labels(label, pi)
    assert not fg_pos.any() and not neg.any()
    # Valid pairs avoid columns 2-3: sources in column 1 going down or
    # down-left.
    assert bg_pos.sum() == 4
    with pytest.raises(ValueError):
        affinity_labels(np.zeros((4, 4)), pi)


def test_edge_to_affinity_by_hand():
    pi = PathIndex(2, (3, 4))
    edge = torch.zeros(1, 1, 3, 4)
    edge[0, 0, 1, 1] = 0.8
    aff = edge_to_affinity(edge, pi)[0]
    assert aff.shape == (pi.num_directions, pi.num_sources)
    # A pair is cut (a = 0.2) iff its thick path touches pixel (1, 1).
    touches = np.concatenate([(idx == 5).any(axis=1)
                              for idx in pi.path_indices])
    np.testing.assert_allclose(
        aff.numpy(), np.where(touches, 0.2, 1.0), rtol=0, atol=1e-7)


@pytest.mark.parametrize('lead', [(3, ), (2, 5)])
def test_take_last_equals_indexing_and_its_gradients(lead):
    # Repeated positions and tied values (quarters), reduced with amax as
    # the IRNet loss does, so that gradients are summed and split at ties.
    grid = get_path_index(5, (12, 15))
    index = torch.tensor(grid.path_indices[2])  # (Ndir, L, Nsrc)
    generator = torch.Generator().manual_seed(0)
    values = torch.randint(
        0, 4, (*lead, 12 * 15), generator=generator).float() / 4
    upstream = torch.rand(
        (*lead, index.shape[0], index.shape[2]), generator=generator)
    results = []
    for take in (take_last, lambda v, i: v[..., i]):
        leaf = values.clone().requires_grad_()
        taken = take(leaf, index)
        (taken.amax(dim=-2) * upstream).sum().backward()
        results.append((taken.detach(), leaf.grad))
    (ours, our_grad), (indexed, indexed_grad) = results
    assert ours.shape == (*lead, *index.shape)
    assert torch.equal(ours, indexed)
    assert torch.equal(our_grad, indexed_grad)
    # a third of the entries get summed gradients
    assert (our_grad > 0).float().mean() > 0.3
