# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (cluster_centroids, find_centroids,
                               instance_labels)

DATA = Path(__file__).parents[2] / 'data'


@pytest.fixture(scope='module')
def golden():
    return np.load(DATA / 'irn_instance_labels.npz')


def test_centroids_and_clusters_match_reference(golden):
    centroids = find_centroids(golden['displacement'])
    assert centroids.dtype == np.int32
    np.testing.assert_array_equal(centroids, golden['centroids'])
    instances = cluster_centroids(golden['centroids'], golden['displacement'])
    assert instances.dtype == np.uint8
    np.testing.assert_array_equal(instances, golden['instance_map'])


def test_instance_labels_match_reference(golden):
    scores, masks, classes = instance_labels(
        torch.from_numpy(golden['cams']),
        golden['keys'],
        torch.from_numpy(golden['edge']),
        torch.from_numpy(golden['displacement']),
        golden['orig_size_hw'],
        beta=int(golden['beta']),
        exp_times=int(golden['exp_times']),
        bg_threshold=float(golden['ins_seg_bg_thres']))
    assert scores.dtype == np.float64 and classes.dtype == np.int64
    assert masks.dtype == bool
    np.testing.assert_array_equal(masks, golden['det_mask'] > 0)
    np.testing.assert_array_equal(classes, golden['det_class'])
    np.testing.assert_allclose(scores, golden['det_score'], rtol=0, atol=1e-5)


def test_zero_displacement_is_its_own_centroid():
    centroids = find_centroids(np.zeros((2, 4, 5), np.float32), 10)
    np.testing.assert_array_equal(
        centroids,
        np.stack(np.meshgrid(np.arange(4), np.arange(5), indexing='ij')))
    # Everything is one weak region: a single instance.
    instances = cluster_centroids(centroids, np.zeros((2, 4, 5)))
    np.testing.assert_array_equal(instances, np.ones((1, 4, 5), np.uint8))


def test_no_centre_becomes_instance_zero():
    # Only pixel (0, 0) is weak. Pixel (2, 2) converges to itself, outside
    # any centre: it gets the "no centre" id 0, which becomes instance 0;
    # the others converge to (0, 0) and form instance 1.
    disp = np.full((2, 3, 3), 5.0, np.float32)
    disp[:, 0, 0] = 0
    centroids = np.zeros((2, 3, 3), np.int32)
    centroids[:, 2, 2] = 2
    instances = cluster_centroids(centroids, disp)
    assert instances.shape == (2, 3, 3)
    assert instances[0, 2, 2] == 1 and instances[1].sum() == 8
