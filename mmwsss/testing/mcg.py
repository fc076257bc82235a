# Copyright (c) mmwsss contributors. All rights reserved.
"""Synthetic MCG-like mask proposals for the tests and the fixtures.

MCG itself (Pont-Tuset et al.) cannot run here; its proposals are read from
the authors' precomputed ``.mat`` files (:mod:`mmwsss.fileio.mcg`). These
stand-ins have the same structure, built from a scene's ground truth: the
superpixels over-segment the image (grid cells split along the object
boundaries), and the proposals are unions of them: each object whole, the
object with some neighbouring background (a leak), parts of the object
(cut by a random line), and random blocks of grid cells (clutter). Since
they follow the ground-truth boundaries, they show how the refinement
works, not how much real MCG proposals help.
"""
from typing import List, Tuple

import numpy as np

from mmwsss.fileio import write_mcg_proposals


def synthetic_mcg_proposals(
        object_map: np.ndarray,
        rng: np.random.Generator,
        cell: int = 8,
        num_clutter: int = 20) -> Tuple[np.ndarray, List[np.ndarray]]:
    """Superpixels and proposals of a scene, in the MCG file layout.

    Args:
        object_map (np.ndarray): (H, W) instance indices (0 background,
            1..K objects; 255, a void band, counts as background).
        rng (np.random.Generator): Source of the random proposals.
        cell (int): Side of the grid cells, pixels. Defaults to 8.
        num_clutter (int): Random blocks of cells. Defaults to 20.

    Returns:
        tuple: int64 (H, W) superpixel ids, 1-based, and the proposals:
        per proposal the array of its superpixel ids (1-based).
    """
    objects = np.where(object_map == 255, 0, object_map).astype(np.int64)
    height, width = objects.shape
    rows, cols = np.indices((height, width))
    cell_rows, cell_cols = -(-height // cell), -(-width // cell)
    grid = (rows // cell) * cell_cols + cols // cell
    # one superpixel per (grid cell, object) pair present
    _, superpixels = np.unique(grid * (objects.max() + 1) + objects,
                               return_inverse=True)
    superpixels = superpixels.reshape(height, width) + 1
    num_superpixels = int(superpixels.max())
    # the grid cell, object and centre of each superpixel
    cell_of = np.zeros(num_superpixels + 1, dtype=np.int64)
    object_of = np.zeros(num_superpixels + 1, dtype=np.int64)
    cell_of[superpixels] = grid
    object_of[superpixels] = objects
    counts = np.bincount(superpixels.ravel(), minlength=num_superpixels + 1)
    centre_y = np.bincount(superpixels.ravel(), rows.ravel(),
                           num_superpixels + 1) / np.maximum(counts, 1)
    centre_x = np.bincount(superpixels.ravel(), cols.ravel(),
                           num_superpixels + 1) / np.maximum(counts, 1)
    ids = np.arange(1, num_superpixels + 1)

    proposals = []
    for k in np.unique(objects[objects > 0]):
        own = ids[object_of[1:] == k]
        proposals.append(own)
        # a leak: the object and part of the background of its cells
        cells = np.unique(cell_of[own])
        around = ids[np.isin(cell_of[1:], cells) & (object_of[1:] == 0)]
        leak = around[rng.random(len(around)) < 0.5]
        proposals.append(np.concatenate([own, leak]))
        # parts: one side of a random line through the object's centre
        angle = rng.uniform(0, np.pi)
        side = (np.cos(angle) * (centre_x[own] - centre_x[own].mean()) +
                np.sin(angle) * (centre_y[own] - centre_y[own].mean()))
        for part in (own[side <= 0], own[side > 0]):
            if len(part):
                proposals.append(part)
    for _ in range(num_clutter):
        r0, c0 = rng.integers(cell_rows), rng.integers(cell_cols)
        r1 = rng.integers(r0, cell_rows) + 1
        c1 = rng.integers(c0, cell_cols) + 1
        cell_r, cell_c = cell_of[1:] // cell_cols, cell_of[1:] % cell_cols
        proposals.append(ids[(cell_r >= r0) & (cell_r < r1) & (cell_c >= c0)
                             & (cell_c < c1)])
    return superpixels, proposals


def write_synthetic_mcg(path: str,
                        object_map: np.ndarray,
                        seed: int = 0,
                        **kwargs) -> None:
    """Write :func:`synthetic_mcg_proposals` of a scene as an MCG ``.mat``.

    Args:
        path (str): The ``.mat`` file.
        object_map (np.ndarray): See :func:`synthetic_mcg_proposals`.
        seed (int): Seed of the random proposals. Defaults to 0.
        **kwargs: Arguments of :func:`synthetic_mcg_proposals`.
    """
    superpixels, labels = synthetic_mcg_proposals(object_map,
                                                  np.random.default_rng(seed),
                                                  **kwargs)
    write_mcg_proposals(path,
                        superpixels,
                        labels,
                        scores=np.linspace(1, 0, len(labels)))
