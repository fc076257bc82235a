# Copyright (c) mmwsss contributors. All rights reserved.
"""Confusion of label maps against ground truth."""
import numpy as np

from .seed_metrics import IGNORE_INDEX


def label_confusion(pred: np.ndarray, gt: np.ndarray, num_classes: int,
                    unlabelled_column: bool) -> np.ndarray:
    """Confusion of a label map against ground truth (gt 255 ignored).

    Args:
        pred (np.ndarray): (H, W) predicted labels in ``0..num_classes-1``
            and 255.
        gt (np.ndarray): (H, W) ground truth, 255 ignored.
        num_classes (int): Number of classes, background included.
        unlabelled_column (bool): Count predicted 255 in an extra last
            column; otherwise predicted 255 counts as background (the IRN
            ``eval_sem_seg`` convention).

    Returns:
        np.ndarray: int64 (num_classes, num_classes [+ 1]) confusion, rows =
        ground truth.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'Prediction of shape {pred.shape} does not match '
                         f'the ground truth {gt.shape}')
    valid = gt != IGNORE_INDEX
    pred, gt = pred[valid], gt[valid]
    unlabelled = pred == IGNORE_INDEX
    pred = np.where(unlabelled, num_classes if unlabelled_column else 0, pred)
    columns = num_classes + int(unlabelled_column)
    bad = (pred < 0) | (pred >= columns) | (gt < 0) | (gt >= num_classes)
    if bad.any():
        raise ValueError(f'Labels outside 0..{num_classes - 1} and 255: '
                         f'{np.unique(np.r_[pred[bad], gt[bad]])}')
    return np.bincount(
        gt * columns + pred,
        minlength=num_classes * columns).reshape(num_classes, columns)
