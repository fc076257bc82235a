# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
from scipy.io import savemat

from mmwsss.fileio import (MCGProposals, mcg_path, rasterise_mcg_proposals,
                           read_mcg_proposals, write_mcg_proposals)


def _superpixels() -> np.ndarray:
    """1-based ids: a 3 x 4 grid of 2 x 3 cells."""
    return np.arange(1, 13).reshape(3, 4).repeat(2, 0).repeat(3, 1)


def test_write_then_read(tmp_path):
    superpixels = _superpixels()
    labels = [[1, 2, 5], [12], [3, 4, 7, 8, 11]]
    path = mcg_path(str(tmp_path), '2008_000002')
    assert path == str(tmp_path / '2008_000002.mat')
    write_mcg_proposals(path, superpixels, labels, scores=[0.9, 0.5, 0.1])
    read = read_mcg_proposals(path, image_size=(6, 12))
    assert isinstance(read, MCGProposals)
    np.testing.assert_array_equal(read.superpixels, superpixels - 1)
    assert read.superpixels.dtype == np.int32
    assert read.membership.shape == (3, 12) and read.membership.dtype == bool
    for p, ids in enumerate(labels):
        assert np.flatnonzero(
            read.membership[p]).tolist() == [i - 1 for i in ids]
    np.testing.assert_allclose(read.scores, [0.9, 0.5, 0.1])
    masks = rasterise_mcg_proposals(read.superpixels, read.membership, [2, 1])
    assert masks.shape == (2, 6, 12)
    np.testing.assert_array_equal(masks[0], np.isin(superpixels, labels[2]))
    np.testing.assert_array_equal(masks[1], superpixels == 12)


def test_reads_the_authors_layout(tmp_path):
    # as the MCG authors' files: uint16 superpixels, a row cell array of
    # row vectors, (P, 1) scores; no scores is fine
    superpixels = _superpixels().astype(np.uint16)
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = np.array([[2, 6]], dtype=np.uint16)
    cells[0, 1] = np.array([[1.0], [12.0]])
    path = str(tmp_path / 'COCO_train2014_000000000009.mat')
    savemat(path, dict(superpixels=superpixels, labels=cells))
    read = read_mcg_proposals(path)
    assert read.scores is None
    assert [np.flatnonzero(m).tolist() for m in read.membership] == [[1, 5],
                                                                     [0, 11]]
