# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM proposals: jittered copies of a ground-truth box and the positives."""
import random
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from mmwsss.utils import to_numpy
from .mask import ArrayLike, _image_hw

Generator = Union[random.Random, np.random.Generator]


def sample_jitter_draws(n: int,
                        ratio: float = 0.3,
                        generator: Optional[Generator] = None) -> np.ndarray:
    """Draw the U(-ratio, ratio) jitter coefficients of ``n`` proposals.

    With a :class:`random.Random` the draws are made one at a time in the
    reference's call order (dx0, dy0, dx1, dy1 of proposal 0, then proposal
    1, ...), so a seeded ``random.Random`` reproduces the reference proposals.

    Args:
        n (int): Number of proposals.
        ratio (float): Maximum offset as a fraction of the box width/height.
            Defaults to 0.3 (the paper's +-30 %).
        generator (random.Random | np.random.Generator, optional): Source of
            randomness. Defaults to None (a fresh
            ``np.random.default_rng()``).

    Returns:
        np.ndarray: float64 array (n, 4) of coefficients for
        ``[x0, y0, x1, y1]``.
    """
    if n < 0:
        raise ValueError(f'n must be non-negative, got {n}.')
    if ratio < 0:
        raise ValueError(f'ratio must be non-negative, got {ratio}.')
    if generator is None:
        generator = np.random.default_rng()
    if isinstance(generator, random.Random):
        draws = [generator.uniform(-ratio, ratio) for _ in range(4 * n)]
        return np.asarray(draws, dtype=np.float64).reshape(n, 4)
    if isinstance(generator, np.random.Generator):
        return generator.uniform(-ratio, ratio, size=(n, 4))
    raise ValueError('generator must be a random.Random or a '
                     f'np.random.Generator, got {type(generator).__name__}.')


def jitter_boxes(box_xyxy: ArrayLike, image_size: Sequence[int],
                 draws: ArrayLike) -> np.ndarray:
    """Jittered copies of a box: ``x0' = x0 + w * d0``, ... , clipped.

    x coordinates move by the draw times the box width ``x1 - x0`` and y
    coordinates by the draw times the height ``y1 - y0`` (no +1). The
    arithmetic is float32, as in the reference, so its proposals are
    reproduced bit for bit. The reference clips only x0, y0 at 0 and x1, y1 at
    (W, H); clipping every coordinate to [0, W] / [0, H] is the same for a box
    inside the image and draws in [-1, 1], and keeps other inputs valid.

    Args:
        box_xyxy (ArrayLike): (4,) box ``[x0, y0, x1, y1]``.
        image_size (Sequence[int]): (H, W) of the image.
        draws (ArrayLike): (N, 4) coefficients from
            :func:`sample_jitter_draws`.

    Returns:
        np.ndarray: float32 proposals (N, 4) ``[x0, y0, x1, y1]``.
    """
    height, width = _image_hw(image_size)
    box = to_numpy(box_xyxy, np.float32).reshape(-1)
    if box.shape != (4, ):
        raise ValueError(
            f'box_xyxy must hold 4 numbers, got shape {box.shape}.')
    coeffs = to_numpy(draws, np.float32)
    if coeffs.ndim != 2 or coeffs.shape[1] != 4:
        raise ValueError(f'draws must be (N, 4), got {coeffs.shape}.')
    box_w, box_h = box[2] - box[0], box[3] - box[1]
    scale = np.stack([box_w, box_h, box_w, box_h])
    proposals = box + coeffs * scale
    upper = np.array([width, height, width, height], dtype=np.float32)
    return np.clip(proposals, 0, upper).astype(np.float32)


def _truncated_iou(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    # The reference IoU: int()-truncated coordinates, no +1 on widths, 0 when
    # the boxes do not overlap.
    boxes, box = np.trunc(boxes), np.trunc(box)
    inter_w = np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0])
    inter_h = np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1])
    overlap = (inter_w > 0) & (inter_h > 0)
    inter = np.where(overlap, inter_w * inter_h, 0.0)
    union = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) +
             (box[2] - box[0]) * (box[3] - box[1]) - inter)
    safe_union = np.where(overlap, union, 1.0)
    return np.where(overlap, inter / safe_union, 0.0)


def select_positive_proposals(
        class_logits: ArrayLike,
        decoded_boxes: ArrayLike,
        gt_box: ArrayLike,
        gt_label: int,
        iou_cascade: Sequence[float] = (0.9, 0.85, 0.8),
        max_positives: int = 100) -> Tuple[np.ndarray, float]:
    """Positive proposals of a ground-truth object, with the adaptive cascade.

    A proposal is positive at threshold ``tau`` when its logit argmax is
    ``gt_label`` and the IoU of its decoded ``gt_label`` box with the
    ground-truth box exceeds ``tau``. The IoU truncates coordinates to ints and
    has no +1 (the reference ``get_single_iou``). Thresholds are tried in
    order: the first one with more than ``max_positives`` positives keeps the
    first ``max_positives`` of them (index order); otherwise the last
    threshold's positives are kept, however few. The dissertation states a
    single threshold of 0.8; the code's 0.9 -> 0.85 -> 0.8 cascade with a cap
    of 100 is the default here.

    Args:
        class_logits (ArrayLike): (N, C) logits (C includes the background).
        decoded_boxes (ArrayLike): (N, 4C) or (N, C, 4) decoded boxes
            ``[x0, y0, x1, y1]`` of every class.
        gt_box (ArrayLike): (4,) ground-truth box ``[x0, y0, x1, y1]``.
        gt_label (int): Index of the object's class among the C logits.
        iou_cascade (Sequence[float]): IoU thresholds, tried in order.
            Defaults to (0.9, 0.85, 0.8).
        max_positives (int): Cap on the number of positives. Defaults to 100.

    Returns:
        tuple[np.ndarray, float]: int64 indices of the positives (possibly
        empty) and the threshold that produced them.
    """
    logits = to_numpy(class_logits, np.float64)
    if logits.ndim != 2:
        raise ValueError(f'class_logits must be (N, C), got {logits.shape}.')
    num_props, num_classes = logits.shape
    boxes = to_numpy(decoded_boxes, np.float64)
    if boxes.shape not in ((num_props, 4 * num_classes), (num_props,
                                                          num_classes, 4)):
        raise ValueError(
            f'decoded_boxes must be ({num_props}, {4 * num_classes}) or '
            f'({num_props}, {num_classes}, 4), got {boxes.shape}.')
    gt = to_numpy(gt_box, np.float64).reshape(-1)
    if gt.shape != (4, ):
        raise ValueError(f'gt_box must hold 4 numbers, got shape {gt.shape}.')
    if not 0 <= gt_label < num_classes:
        raise ValueError(
            f'gt_label must be in [0, {num_classes}), got {gt_label}.')
    if len(iou_cascade) == 0:
        raise ValueError('iou_cascade must hold at least one threshold.')
    if max_positives < 1:
        raise ValueError(
            f'max_positives must be positive, got {max_positives}.')

    class_boxes = boxes.reshape(num_props, num_classes, 4)[:, gt_label]
    ious = _truncated_iou(class_boxes, gt)
    wins = logits.argmax(axis=1) == gt_label
    for threshold in iou_cascade:
        positives = np.flatnonzero(wins & (ious > threshold))
        if positives.size > max_positives:
            return positives[:max_positives].astype(np.int64), float(threshold)
    return positives.astype(np.int64), float(threshold)
