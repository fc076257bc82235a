# Copyright (c) mmwsss contributors. All rights reserved.
"""Precomputed MCG mask proposals (Pont-Tuset et al., TPAMI 2017).

The MCG authors distribute their proposals for PASCAL VOC and MS COCO as
one MATLAB ``.mat`` file per image, named by the image's file stem
(``2008_000002.mat``, ``COCO_train2014_000000000009.mat``), with:

- ``superpixels``: (H, W) integer map of superpixel ids, 1-based, covering
  every pixel;
- ``labels``: cell array, one entry per proposal: the ids of the
  superpixels it consists of;
- ``scores`` (optional): one score per proposal.

:func:`read_mcg_proposals` returns them as 0-based superpixels and a
proposals x superpixels membership matrix, the compact form in which the
pixel counts of every proposal are one matrix product with per-superpixel
counts (:func:`mmwsss.models.bbam.mcg_refine_mask`).
"""
import os.path as osp
from typing import NamedTuple, Optional, Sequence

import numpy as np

MCG_SUFFIX = '.mat'


class MCGProposals(NamedTuple):
    """The MCG proposals of one image.

    Attributes:
        superpixels (np.ndarray): int32 (H, W) superpixel ids, 0-based.
        membership (np.ndarray): bool (P, S): proposal p contains superpixel
            s (S = the number of superpixels, ``superpixels.max() + 1``).
        scores (np.ndarray, optional): float64 (P,) scores, None when the
            file has none.
    """
    superpixels: np.ndarray
    membership: np.ndarray
    scores: Optional[np.ndarray]


def mcg_path(folder: str, stem: str) -> str:
    """Path of the MCG file of the image with file stem ``stem``."""
    return osp.join(folder, stem + MCG_SUFFIX)


def _load_mat(path: str) -> dict:
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: no MCG proposal file (one <image stem>.mat per image, '
            'as the MCG authors distribute them).')
    try:
        return loadmat(path)
    except NotImplementedError as error:  # MATLAB v7.3 = HDF5
        raise ValueError(f'{path}: MATLAB v7.3 (HDF5) files are not read; '
                         'save it with -v7.') from error
    except Exception as error:
        raise ValueError(
            f'{path}: not a readable MATLAB file ({error}).') from error


def _superpixels(path: str, values: np.ndarray,
                 image_size: Optional[Sequence[int]]) -> np.ndarray:
    if values.ndim != 2 or values.size == 0 or not (
            np.issubdtype(values.dtype, np.integer)
            or np.issubdtype(values.dtype, np.floating)):
        raise ValueError(f'{path}: superpixels must be a non-empty (H, W) '
                         f'numeric map, got {values.dtype} {values.shape}.')
    if np.issubdtype(values.dtype, np.floating) and not np.array_equal(
            values, np.round(values)):
        raise ValueError(f'{path}: superpixels must hold integer ids.')
    if values.min() < 1:
        raise ValueError(f'{path}: superpixel ids are 1-based, got '
                         f'{values.min()}.')
    if image_size is not None and values.shape != tuple(image_size):
        raise ValueError(f'{path}: superpixels of size {values.shape}, but '
                         f'the image is {tuple(image_size)}.')
    return values.astype(np.int32) - 1


def _membership(path: str, labels: np.ndarray,
                num_superpixels: int) -> np.ndarray:
    if labels.dtype != object:
        raise ValueError(
            f'{path}: labels must be a cell array (one vector of superpixel '
            f'ids per proposal), got a {labels.dtype} array.')
    cells = [np.asarray(cell).ravel() for cell in labels.ravel()]
    for p, cell in enumerate(cells):
        if cell.size and not np.issubdtype(cell.dtype, np.number):
            raise ValueError(f'{path}: proposal {p} holds no superpixel ids.')
    lengths = [cell.size for cell in cells]
    ids = np.concatenate(cells + [np.zeros(0)]).astype(np.float64)
    rows = np.repeat(np.arange(len(cells)), lengths)
    bad = (ids < 1) | (ids > num_superpixels) | (ids != np.round(ids))
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(f'{path}: proposal {rows[first]} names superpixel '
                         f'{ids[first]:g}; the ids are the integers '
                         f'1..{num_superpixels}.')
    membership = np.zeros((len(cells), num_superpixels), dtype=bool)
    membership[rows, ids.astype(np.int64) - 1] = True
    return membership


def read_mcg_proposals(path: str,
                       image_size: Optional[Sequence[int]] = None
                       ) -> MCGProposals:
    """Read the MCG proposals of one image.

    Args:
        path (str): The ``.mat`` file (MATLAB v5/v7).
        image_size (Sequence[int], optional): (H, W) the superpixels must
            have. Defaults to None (not checked).

    Returns:
        MCGProposals: 0-based superpixels, membership and scores.

    Raises:
        FileNotFoundError: Naming the file, when it does not exist.
        KeyError: Naming the file, when ``superpixels`` or ``labels`` is
            missing.
        ValueError: Naming the file, for a file MATLAB v7.3 or unreadable,
            superpixels not a 1-based (H, W) integer map (or of another
            size than ``image_size``), labels not a cell array or naming
            superpixels that do not exist, or scores not one per proposal.
    """
    data = _load_mat(path)
    missing = [key for key in ('superpixels', 'labels') if key not in data]
    if missing:
        raise KeyError(f'{path} has no {missing}: an MCG file holds '
                       'superpixels, labels and (optionally) scores.')
    superpixels = _superpixels(path, np.asarray(data['superpixels']),
                               image_size)
    membership = _membership(path, np.asarray(data['labels']),
                             int(superpixels.max()) + 1)
    scores = None
    if 'scores' in data:
        scores = np.asarray(data['scores'], dtype=np.float64).ravel()
        if scores.shape[0] != membership.shape[0]:
            raise ValueError(f'{path}: {scores.shape[0]} scores for '
                             f'{membership.shape[0]} proposals.')
    return MCGProposals(superpixels, membership, scores)


def write_mcg_proposals(path: str,
                        superpixels: np.ndarray,
                        labels: Sequence[Sequence[int]],
                        scores: Optional[Sequence[float]] = None) -> None:
    """Write proposals in the MCG authors' format (tests and fixtures).

    Args:
        path (str): The ``.mat`` file.
        superpixels (np.ndarray): (H, W) superpixel ids, 1-based.
        labels (Sequence[Sequence[int]]): Per proposal, its superpixel ids
            (1-based).
        scores (Sequence[float], optional): One score per proposal.
            Defaults to None (no ``scores`` field).
    """
    from scipy.io import savemat
    cells = np.empty((len(labels), 1), dtype=object)
    for p, ids in enumerate(labels):
        cells[p, 0] = np.asarray(ids, dtype=np.float64).reshape(-1, 1)
    data = dict(superpixels=np.asarray(superpixels, dtype=np.uint32),
                labels=cells)
    if scores is not None:
        data['scores'] = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    savemat(path, data)


def rasterise_mcg_proposals(superpixels: np.ndarray, membership: np.ndarray,
                            indices: Sequence[int]) -> np.ndarray:
    """Pixel masks of chosen proposals.

    Args:
        superpixels (np.ndarray): (H, W) 0-based superpixel ids.
        membership (np.ndarray): bool (P, S) of :class:`MCGProposals`.
        indices (Sequence[int]): The proposals to rasterise.

    Returns:
        np.ndarray: bool (len(indices), H, W).
    """
    chosen = np.asarray(membership, dtype=bool)[np.asarray(indices,
                                                           dtype=np.int64)]
    return chosen[:, superpixels]
