# Copyright (c) mmwsss contributors. All rights reserved.
"""Confusion matrices and scores of CAM seeds (IRN-family ``eval_cam``)."""
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch

from mmwsss.utils.tensor import to_numpy

ArrayLike = Union[np.ndarray, torch.Tensor]

IGNORE_INDEX = 255


def _check_seed_inputs(
    cams: ArrayLike, keys: ArrayLike, gt: ArrayLike, num_classes: int
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the inputs of the seed confusions and return numpy copies.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: The floating (K, H, W)
        CAMs, the int64 (K,) label of each CAM channel (key + 1) and the
        int64 (H, W) ground truth.
    """
    cams, keys, gt = to_numpy(cams), to_numpy(keys), to_numpy(gt)
    if cams.ndim != 3:
        raise ValueError(f'cams must be (K, H, W), got shape {cams.shape}')
    if not np.issubdtype(cams.dtype, np.floating):
        raise ValueError(f'cams must be floating point, got {cams.dtype}')
    if np.isnan(cams).any():
        raise ValueError('cams contain NaN')
    keys = keys.reshape(-1)
    if keys.shape[0] != cams.shape[0] or not np.issubdtype(
            keys.dtype, np.integer):
        raise ValueError(f'keys must be {cams.shape[0]} integers (one per '
                         f'CAM channel), got {keys.dtype} {keys.shape}')
    if gt.shape != cams.shape[1:]:
        raise ValueError(f'gt shape {gt.shape} does not match the CAM size '
                         f'{cams.shape[1:]}')
    if keys.size and (keys.min() < 0 or keys.max() + 1 >= num_classes):
        raise ValueError(f'keys must lie in [0, {num_classes - 1}) so that '
                         f'key + 1 is a valid class, got {keys}')
    if not (np.issubdtype(gt.dtype, np.integer) or gt.dtype == bool):
        raise ValueError(f'gt must hold integer labels, got {gt.dtype}')
    gt = gt.astype(np.int64)
    bad = (gt != IGNORE_INDEX) & ((gt < 0) | (gt >= num_classes))
    if bad.any():
        raise ValueError(f'gt holds values outside [0, {num_classes}) other '
                         f'than {IGNORE_INDEX}: {np.unique(gt[bad])}')
    return cams, keys.astype(np.int64) + 1, gt


def cam_seed_confusion(cams: ArrayLike, keys: ArrayLike, gt: ArrayLike,
                       threshold: float, num_classes: int) -> np.ndarray:
    """Confusion matrix of the seed obtained from CAMs with a bg threshold.

    The prediction is the argmax over ``[constant threshold plane; cams]``
    (argmax keeps the first maximum, so a CAM equal to the threshold is
    background), mapped as 0 -> 0 and i -> ``keys[i - 1] + 1``. The plane has
    the dtype of ``cams``, as in the reference, which pads the CAM array.

    Args:
        cams (np.ndarray | torch.Tensor): Floating (K, H, W) CAMs of the kept
            classes.
        keys (np.ndarray | torch.Tensor): (K,) 0-based foreground class index
            of each CAM channel.
        gt (np.ndarray | torch.Tensor): (H, W) label map, 0 = background,
            k + 1 = class k, 255 = ignored.
        threshold (float): Background score.
        num_classes (int): Number of classes, background included.

    Returns:
        np.ndarray: int64 (num_classes, num_classes) confusion matrix, rows =
        ground truth, columns = prediction.
    """
    return cam_seed_confusions(cams, keys, gt, [threshold], num_classes)[0]


def cam_seed_confusions(cams: ArrayLike, keys: ArrayLike, gt: ArrayLike,
                        thresholds: Sequence[float],
                        num_classes: int) -> np.ndarray:
    """Confusion matrices of a whole background-threshold sweep.

    Equivalent to stacking :func:`cam_seed_confusion` over ``thresholds``,
    but the argmax over the CAMs is taken once: a pixel whose best CAM score
    (first maximum) is strictly above ``t`` is predicted as that class, and as
    background otherwise.

    Args:
        cams (np.ndarray | torch.Tensor): Floating (K, H, W) CAMs.
        keys (np.ndarray | torch.Tensor): (K,) 0-based foreground class index
            of each CAM channel.
        gt (np.ndarray | torch.Tensor): (H, W) label map with 255 ignored.
        thresholds (Sequence[float]): Background scores to evaluate.
        num_classes (int): Number of classes, background included.

    Returns:
        np.ndarray: int64 (T, num_classes, num_classes) confusion matrices,
        rows = ground truth, columns = prediction.
    """
    cams, labels, gt = _check_seed_inputs(cams, keys, gt, num_classes)
    thresholds = np.asarray(thresholds, dtype=cams.dtype).reshape(-1)
    valid = gt != IGNORE_INDEX
    gt = gt[valid]
    confusions = np.zeros((thresholds.size, num_classes, num_classes),
                          dtype=np.int64)
    # Every valid pixel starts as background; fg pixels are moved below.
    confusions[:, :, 0] = np.bincount(gt, minlength=num_classes)
    if labels.size == 0:
        return confusions
    cams = cams[:, valid]
    best = cams.argmax(axis=0)
    scores = np.take_along_axis(cams, best[None], axis=0)[0]
    # Sort by (gt, predicted fg class, score): each (gt, class) cell is then a
    # sorted run in which the pixels above a threshold are a suffix.
    cells = gt * num_classes + labels[best]
    order = np.lexsort((scores, cells))
    cells, scores = cells[order], scores[order]
    starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    ends = np.r_[starts[1:], cells.size]
    for start, end in zip(starts, ends):
        row, col = divmod(int(cells[start]), num_classes)
        above = end - start - np.searchsorted(
            scores[start:end], thresholds, side='right')
        confusions[:, row, col] += above
        confusions[:, row, 0] -= above
    return confusions


def segmentation_scores(confusion: np.ndarray) -> Dict[str, object]:
    """Per-class and mean scores of a confusion matrix (chainercv IoU).

    IoU = TP / (TP + FP + FN) = diag / (row + col - diag), precision =
    diag / col, recall = diag / row and F1 = 2 diag / (row + col). A class
    absent from both the ground truth and the prediction gets NaN everywhere
    and is left out of the means. A class that occurs on one side only gets 0
    where its denominator is 0 (precision of a never-predicted class, recall
    of a class absent from the ground truth).

    Args:
        confusion (np.ndarray): (C, C) confusion matrix, rows = ground truth,
            columns = prediction.

    Returns:
        dict: ``iou``, ``precision``, ``recall`` and ``f1`` (float64 (C,)
        arrays), and ``miou``, ``mean_precision``, ``mean_recall`` and
        ``mean_f1`` (floats, means over the classes that occur; NaN when no
        class occurs).
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError('confusion must be a square matrix, got shape '
                         f'{confusion.shape}')
    tp = np.diag(confusion)
    gt_count, pred_count = confusion.sum(axis=1), confusion.sum(axis=0)
    present = (gt_count + pred_count) > 0

    def ratio(denominator: np.ndarray) -> np.ndarray:
        out = np.zeros_like(tp)
        np.divide(tp, denominator, out=out, where=denominator > 0)
        out[~present] = np.nan
        return out

    scores = dict(
        iou=ratio(gt_count + pred_count - tp),
        precision=ratio(pred_count),
        recall=ratio(gt_count),
        f1=2 * ratio(gt_count + pred_count))
    for name, key in (('miou', 'iou'), ('mean_precision', 'precision'),
                      ('mean_recall', 'recall'), ('mean_f1', 'f1')):
        values = scores[key][present]
        scores[name] = float(values.mean()) if values.size else float('nan')
    return scores
