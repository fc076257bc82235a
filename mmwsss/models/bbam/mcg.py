# Copyright (c) mmwsss contributors. All rights reserved.
"""Refinement of BBAM pseudo-masks with MCG mask proposals.

Follows the reference ``make_annotation/BBAM_plus_mcg.py`` (the paper's best
instance results, dissertation Eq. 5.4 and Table 5.4). Every pixel count of
a proposal is a sum over its superpixels, so the counts of all proposals
are one product of the proposals x superpixels membership matrix with
per-superpixel counts: no loop over proposals or pixels.
"""
from typing import Sequence, Tuple

import numpy as np

from mmwsss.utils import to_numpy
from .mask import ArrayLike

#: Ways of counting the pixels of a region (see :func:`mcg_refine_mask`).
MCG_COUNTS = ('pixels', 'reference')
# Boxes of a smaller area (pixels) keep their masks.
_MIN_BOX_AREA = 32 * 32
# Share of a proposal that must lie inside the box (candidates of the best
# IoU) or inside the mask (proposals added whole).
_INSIDE_SHARE = 0.95


def _pixel_weights(height: int, width: int, count: str) -> np.ndarray:
    if count == 'pixels':
        return np.ones((height, width), dtype=np.float64)
    # The reference counts a region as np.sum(np.where(region)): the sum of
    # its pixels' row and column indices.
    rows, cols = np.indices((height, width), dtype=np.float64)
    return rows + cols


def _refine_one(mask: np.ndarray, box_slice: Tuple[slice, slice],
                superpixels: np.ndarray, membership: np.ndarray,
                weights: np.ndarray, superpixel_size: np.ndarray,
                superpixel_in_box: np.ndarray,
                valid: np.ndarray) -> np.ndarray:
    num_superpixels = membership.shape[1]
    superpixel_in_mask = np.bincount(superpixels[mask],
                                     weights[mask],
                                     minlength=num_superpixels)
    size, in_box, in_mask = (membership @ np.stack(
        [superpixel_size, superpixel_in_box, superpixel_in_mask], axis=1)).T
    size = np.where(valid, size, 0)
    union = size + weights[mask].sum() - in_mask
    iou = np.divide(in_mask, union, out=np.zeros_like(union), where=union > 0)
    candidates = valid & (size > 0) & (in_box > _INSIDE_SHARE * size)
    chosen = valid & (size > 0) & (in_mask > _INSIDE_SHARE * size)
    if candidates.any():
        best = int(np.argmax(np.where(candidates, iou, -1.0)))
        # a proposal disjoint from the mask is no "best overlap"
        chosen[best] |= iou[best] > 0
    if not chosen.any():
        return mask
    refined = np.zeros_like(mask)
    refined[box_slice] = (membership[chosen]
                          > 0).any(axis=0)[superpixels[box_slice]]
    return refined


def mcg_refine_mask(
        fg_mask: ArrayLike,
        ignore_mask: ArrayLike,
        box_xyxy: Sequence[int],
        superpixels: ArrayLike,
        membership: ArrayLike,
        count: str = 'pixels') -> Tuple[np.ndarray, np.ndarray, bool]:
    """Refine one object's pseudo-masks with MCG proposals.

    Steps (reference ``BBAM_plus_mcg.py``), for each of the two masks T:

    1. a box of area ``w * h < 32 ** 2`` keeps its masks unchanged;
    2. only proposals with no superpixel lying entirely outside the box
       are used;
    3. among those with more than 95 % of their area inside the box, the
       one with the highest IoU with T (first of ties; none when every IoU
       is 0);
    4. united with every proposal with more than 95 % of its area inside T
       (dissertation Eq. 5.4: ``{i | m_i in T} + {argmax_i IoU(m_i, T)}``);
    5. restricted to the box.

    A mask that no proposal qualifies for stays unchanged (the union would
    be empty). The refined foreground mask is then added to the refined
    ignore mask, as the reference does, so the ignore mask contains it.

    ``count`` chooses how areas are counted: ``'pixels'`` (default) counts
    pixels; ``'reference'`` weighs each pixel by its row + column index, as
    the reference's ``np.sum(np.where(region))`` does by mistake, so that
    its "IoU" and 95 % shares are coordinate-weighted ratios (pixels near
    the top-left corner count little, those near the bottom-right a lot).
    Step 2 is a plain test (no pixel of the superpixel inside the box) in
    both cases.

    Args:
        fg_mask (ArrayLike): bool (H, W) foreground mask (rank fraction
            0.85).
        ignore_mask (ArrayLike): bool (H, W) ignore mask (rank fraction
            0.2).
        box_xyxy (Sequence[int]): Integer box ``[x0, y0, x1, y1]``, ends
            exclusive, inside the image.
        superpixels (ArrayLike): int (H, W) 0-based superpixel ids.
        membership (ArrayLike): (P, S) proposals x superpixels, nonzero
            where the proposal contains the superpixel (bool, or float64 to
            spare a conversion per object).
        count (str): ``'pixels'`` or ``'reference'``. Defaults to
            ``'pixels'``.

    Returns:
        tuple: bool (H, W) refined foreground and ignore masks, and whether
        the object was refined (False for a box under 32 x 32 pixels).
    """
    if count not in MCG_COUNTS:
        raise ValueError(f'count must be one of {MCG_COUNTS}, got {count!r}.')
    fg = to_numpy(fg_mask).astype(bool)
    ignore = to_numpy(ignore_mask).astype(bool)
    superpixels = to_numpy(superpixels).astype(np.int64)
    membership = to_numpy(membership, np.float64)
    if fg.ndim != 2 or ignore.shape != fg.shape or (superpixels.shape
                                                    != fg.shape):
        raise ValueError(
            'fg_mask, ignore_mask and superpixels must share one (H, W) '
            f'shape, got {fg.shape}, {ignore.shape} and {superpixels.shape}.')
    if membership.ndim != 2 or membership.shape[1] <= superpixels.max():
        raise ValueError(
            f'membership must be (P, S) with S > {superpixels.max()} (the '
            f'largest superpixel id), got {membership.shape}.')
    height, width = fg.shape
    x0, y0, x1, y1 = (int(v) for v in box_xyxy)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f'box_xyxy {[x0, y0, x1, y1]} must be a non-empty '
                         f'box inside the {height}x{width} image.')
    if (x1 - x0) * (y1 - y0) < _MIN_BOX_AREA:
        return fg, ignore, False

    box_slice = (slice(y0, y1), slice(x0, x1))
    num_superpixels = membership.shape[1]
    weights = _pixel_weights(height, width, count)
    superpixel_size = np.bincount(superpixels.ravel(),
                                  weights.ravel(),
                                  minlength=num_superpixels)
    superpixel_in_box = np.bincount(superpixels[box_slice].ravel(),
                                    weights[box_slice].ravel(),
                                    minlength=num_superpixels)
    outside = (np.bincount(
        superpixels[box_slice].ravel(), minlength=num_superpixels) == 0) & (
            np.bincount(superpixels.ravel(), minlength=num_superpixels) > 0)
    valid = membership @ outside.astype(np.float64) == 0
    args = (box_slice, superpixels, membership, weights, superpixel_size,
            superpixel_in_box, valid)
    fg = _refine_one(fg, *args)
    ignore = _refine_one(ignore, *args) | fg
    return fg, ignore, True
