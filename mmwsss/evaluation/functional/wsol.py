# Copyright (c) mmwsss contributors. All rights reserved.
"""The WSOL evaluation protocol of clovaai/wsolevaluation (Choe et al.).

Score maps are float (H, W) arrays in [0, 1] (224 x 224 in the protocol).
Boxes are ``[x0, y0, x1, y1]`` integer arrays in the inclusive-pixel
convention of the reference. The quirks of the reference are reproduced on
purpose so that numbers stay comparable with published ones: see
:func:`boxes_from_scoremap` and :func:`box_iou_inclusive`.
"""
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

# Shared with the models and datasets that make score maps and ground truth.
from mmwsss.structures.wsol_maps import (ArrayLike, normalize_scoremap,
                                         pxap_gt_mask)
from mmwsss.utils.tensor import to_numpy

__all__ = [
    'normalize_scoremap', 'resize_box', 'box_iou_inclusive',
    'boxes_from_scoremap', 'max_box_accuracy', 'pxap_gt_mask',
    'pxap_histograms', 'pxap_from_histograms', 'pxap', 'topk_correct',
    'topk_localization', 'best_mean_iou'
]


def _check_scoremap(scoremap: ArrayLike) -> np.ndarray:
    """Return ``scoremap`` as numpy after the reference's validity checks."""
    scoremap = to_numpy(scoremap)
    if scoremap.ndim != 2 or not np.issubdtype(scoremap.dtype, np.floating):
        raise ValueError('a score map must be a 2-D float array, got '
                         f'{scoremap.dtype} {scoremap.shape}')
    if np.isnan(scoremap).any():
        raise ValueError('score map contains NaN')
    if scoremap.size and (scoremap.min() < 0 or scoremap.max() > 1):
        raise ValueError('score map values must lie in [0, 1], got '
                         f'[{scoremap.min()}, {scoremap.max()}]')
    return scoremap


def resize_box(box_xyxy: ArrayLike,
               orig_wh: Sequence[int],
               target_wh: Sequence[int] = (224, 224)) -> np.ndarray:
    """Rescale boxes from the original image size to the evaluation size.

    Each coordinate becomes ``int(c * target / orig)`` (truncation), x with
    the widths and y with the heights.

    Args:
        box_xyxy (np.ndarray | torch.Tensor): (4,) or (N, 4) boxes
            ``[x0, y0, x1, y1]``.
        orig_wh (Sequence[int]): Original image size (width, height).
        target_wh (Sequence[int]): Evaluation size (width, height).
            Defaults to (224, 224).

    Returns:
        np.ndarray: int64 boxes of the same shape.
    """
    box = to_numpy(box_xyxy).astype(np.float64)
    target = np.asarray(target_wh, dtype=np.float64)[[0, 1, 0, 1]]
    orig = np.asarray(orig_wh, dtype=np.float64)[[0, 1, 0, 1]]
    # Multiply before dividing: the truncated result is then exact.
    return (box * target / orig).astype(np.int64)


def box_iou_inclusive(boxes_a: ArrayLike, boxes_b: ArrayLike) -> np.ndarray:
    """Pairwise IoU of boxes whose corners are both inside the box.

    Areas count pixels: ``(x1 - x0 + 1) * (y1 - y0 + 1)``, and so does the
    intersection. Two identical boxes (e.g. two ``[0, 0, 0, 0]``) have IoU 1.

    Args:
        boxes_a (np.ndarray | torch.Tensor): (N, 4) boxes ``[x0, y0, x1, y1]``.
        boxes_b (np.ndarray | torch.Tensor): (M, 4) boxes.

    Returns:
        np.ndarray: float64 (N, M) IoU matrix.
    """
    a = to_numpy(boxes_a).astype(np.int64).reshape(-1, 4)
    b = to_numpy(boxes_b).astype(np.int64).reshape(-1, 4)
    for boxes in (a, b):
        if (boxes < 0).any() or (boxes[:, 2:] < boxes[:, :2]).any():
            raise ValueError('boxes must be non-negative with x1 >= x0 and '
                             'y1 >= y0')
    a, b = a[:, None], b[None]
    inter_wh = np.clip(
        np.minimum(a[..., 2:], b[..., 2:]) -
        np.maximum(a[..., :2], b[..., :2]) + 1, 0, None)
    inter = inter_wh.prod(-1)
    area_a = (a[..., 2:] - a[..., :2] + 1).prod(-1)
    area_b = (b[..., 2:] - b[..., :2] + 1).prod(-1)
    return inter / (area_a + area_b - inter)


def _boxes_of_mask(mask: np.ndarray, multi_contour: bool) -> np.ndarray:
    """Boxes of the contours of a 0/255 uint8 mask ((n, 4) int64)."""
    # [-2] is the contour list for both the OpenCV 3 and the >= 4 returns.
    contours = cv2.findContours(mask, cv2.RETR_TREE,
                                cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return np.zeros((1, 4), dtype=np.int64)
    if not multi_contour:
        # np.argmax keeps the first of equal areas, like Python's max.
        areas = [cv2.contourArea(contour) for contour in contours]
        contours = [contours[int(np.argmax(areas))]]
    points = np.concatenate(contours).reshape(-1, 2).astype(np.int64)
    starts = np.cumsum([0] + [len(contour) for contour in contours[:-1]])
    # cv2.boundingRect of a contour is the min / max of its points.
    low = np.minimum.reduceat(points, starts, axis=0)
    high = np.maximum.reduceat(points, starts, axis=0)
    # x + w is the exclusive end; the reference clips it to the last pixel
    # and later treats it as inclusive (boxes 1 px too large): kept as is.
    limit = np.array([mask.shape[1] - 1, mask.shape[0] - 1])
    return np.concatenate([low, np.minimum(high + 1, limit)], axis=1)


def _boxes_all_thresholds(scoremap: ArrayLike, thresholds: Sequence[float],
                          multi_contour: bool
                          ) -> Tuple[np.ndarray, np.ndarray]:
    """Boxes of all thresholds concatenated ((sum(counts), 4)) and counts."""
    scoremap = _check_scoremap(scoremap)
    # uint8 truncation and an integer threshold, as the reference.
    image = (scoremap * 255).astype(np.uint8)
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    levels = np.unique(image)
    int_thresholds = (thresholds * levels[-1]).astype(np.int64)
    # The foreground ``image > t`` is ``image >= (lowest level above t)``,
    # so contours are traced once per distinct mask (256: empty mask).
    lower_bounds = np.append(levels.astype(np.int64), 256)
    mask_ids = np.searchsorted(levels, int_thresholds, side='right')
    per_mask = {}
    for mask_id in np.unique(mask_ids):
        mask = np.where(image >= lower_bounds[mask_id], 255, 0)
        per_mask[mask_id] = _boxes_of_mask(
            mask.astype(np.uint8), multi_contour)
    boxes = [per_mask[mask_id] for mask_id in mask_ids]
    counts = np.array([len(b) for b in boxes], dtype=np.int64)
    return np.concatenate(boxes), counts


def boxes_from_scoremap(scoremap: ArrayLike, thresholds: Sequence[float],
                        multi_contour: bool
                        ) -> Tuple[List[np.ndarray], np.ndarray]:
    """Estimated boxes of a score map at each CAM threshold.

    Follows ``compute_bboxes_from_scoremaps`` of wsolevaluation:
    ``U = uint8(S * 255)`` (truncation); at threshold τ the foreground is
    ``U > int(τ * max(U))`` (strict); contours are traced with
    ``cv2.findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)``, so holes give
    contours (and boxes) too. In single-contour mode only the contour of the
    largest ``cv2.contourArea`` is kept (the first in OpenCV's order on
    ties). A contour's box is ``[x, y, min(x + w, W - 1), min(y + h,
    H - 1)]`` from ``cv2.boundingRect``. Without any contour the single box
    ``[0, 0, 0, 0]`` is returned.

    Args:
        scoremap (np.ndarray | torch.Tensor): Float (H, W) map in [0, 1].
        thresholds (Sequence[float]): CAM thresholds τ.
        multi_contour (bool): Keep all contours (MaxBoxAccV2) instead of the
            largest one (MaxBoxAcc).

    Returns:
        tuple[list[np.ndarray], np.ndarray]: One int64 (n_t, 4) box array
        per threshold, and the int64 (T,) counts n_t.
    """
    boxes, counts = _boxes_all_thresholds(scoremap, thresholds, multi_contour)
    return np.split(boxes, np.cumsum(counts)[:-1]), counts


def max_box_accuracy(scoremaps: Sequence[ArrayLike],
                     gt_boxes: Sequence[ArrayLike],
                     thresholds: Sequence[float],
                     iou_thresholds: Sequence[int] = (30, 50, 70),
                     multi_contour: bool = True) -> Dict[str, np.ndarray]:
    """MaxBoxAcc (CVPR'20) and MaxBoxAccV2 (TPAMI) of wsolevaluation.

    An image is correct at τ for IoU threshold δ when any box estimated at τ
    (:func:`boxes_from_scoremap`) has IoU >= δ / 100 with any of its GT boxes
    (:func:`box_iou_inclusive`). The accuracy of δ is the best over τ (an
    oracle threshold, chosen on the evaluated set, each δ its own).
    MaxBoxAcc (V1) is ``max_box_acc`` at δ = 50 with
    ``multi_contour=False``; MaxBoxAccV2 is the mean of ``max_box_acc`` over
    δ = 30, 50, 70 with ``multi_contour=True``.

    Args:
        scoremaps (Sequence[np.ndarray | torch.Tensor]): N float score maps
            in [0, 1].
        gt_boxes (Sequence[np.ndarray | torch.Tensor]): Per image, (n_i, 4)
            GT boxes already in score-map coordinates (see
            :func:`resize_box`).
        thresholds (Sequence[float]): CAM thresholds τ, e.g.
            ``np.arange(0, 1, 0.01)``.
        iou_thresholds (Sequence[int]): IoU thresholds δ in percent.
            Defaults to (30, 50, 70).
        multi_contour (bool): Use all contours instead of the largest one.
            Defaults to True.

    Returns:
        dict[str, np.ndarray]: ``num_correct`` int64 (len(δ), T) number of
        correct images; ``max_box_acc`` float64 (len(δ),) in percent;
        ``best_threshold_index`` int64 (len(δ),) first τ index reaching it;
        ``best_iou`` float64 (N, T) per image and τ the best IoU over (box,
        GT box) pairs.
    """
    if len(scoremaps) != len(gt_boxes) or len(scoremaps) == 0:
        raise ValueError('need one GT box array per score map and at least '
                         f'one image, got {len(scoremaps)} score maps and '
                         f'{len(gt_boxes)} GT box arrays')
    best_iou = []
    for scoremap, gt in zip(scoremaps, gt_boxes):
        boxes, counts = _boxes_all_thresholds(scoremap, thresholds,
                                              multi_contour)
        iou = box_iou_inclusive(boxes, gt).max(axis=1)
        # Every threshold has at least one box, so no segment is empty.
        best_iou.append(
            np.maximum.reduceat(iou, np.cumsum(counts) - counts))
    best_iou = np.stack(best_iou)
    deltas = np.asarray(iou_thresholds, dtype=np.int64)
    num_correct = (best_iou[None] >= (deltas / 100)[:, None, None]).sum(1)
    accuracy = num_correct * 100. / len(scoremaps)
    return dict(
        num_correct=num_correct,
        max_box_acc=accuracy.max(axis=1),
        best_threshold_index=accuracy.argmax(axis=1),
        best_iou=best_iou)


def best_mean_iou(best_iou: ArrayLike) -> Tuple[float, int]:
    """RFGA's mIoU: the mean IoU over images at the best CAM threshold.

    RFGA (Sohn et al., Table 1) reports "the average IoU of all images at
    the optimal τ" next to MaxBoxAcc; the optimal τ is taken here as the one
    that maximises that average (first on ties), an oracle on the evaluated
    set like MaxBoxAcc's. Use the largest-contour ``best_iou`` of
    :func:`max_box_accuracy` (``multi_contour=False``), as RFGA's MaxBoxAcc.

    Args:
        best_iou (np.ndarray | torch.Tensor): (N, T) best IoU per image and
            CAM threshold.

    Returns:
        tuple[float, int]: The mean IoU in percent (the paper prints it as a
        fraction) and the index of its threshold.
    """
    mean_iou = to_numpy(best_iou).astype(np.float64).mean(axis=0)
    index = int(mean_iou.argmax())
    return float(mean_iou[index] * 100), index


def pxap_histograms(scoremaps: Sequence[ArrayLike],
                    gt_masks: Sequence[ArrayLike],
                    thresholds: Sequence[float]
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """Score histograms of the object and background pixels (for PxAP).

    The bin edges are ``thresholds`` followed by ``[1, 2, 3]``; bins are
    half-open ``[e_k, e_{k+1})`` except the last, so a score of exactly 1
    falls in ``[1, 2)``. Histograms of several batches can be summed.

    Args:
        scoremaps (Sequence[np.ndarray | torch.Tensor]): Float score maps in
            [0, 1].
        gt_masks (Sequence[np.ndarray | torch.Tensor]): uint8 masks of the
            same sizes, 1 = object, 0 = background, 255 = ignored.
        thresholds (Sequence[float]): Increasing CAM thresholds in [0, 1).

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 (T + 2,) histograms of the
        object scores and of the background scores.
    """
    if len(scoremaps) != len(gt_masks):
        raise ValueError(f'got {len(scoremaps)} score maps but '
                         f'{len(gt_masks)} GT masks')
    edges = np.concatenate(
        [np.asarray(thresholds, dtype=np.float64).reshape(-1), [1., 2., 3.]])
    positives, negatives = [], []
    for scoremap, gt in zip(scoremaps, gt_masks):
        scoremap, gt = _check_scoremap(scoremap), to_numpy(gt)
        if gt.shape != scoremap.shape:
            raise ValueError(f'GT mask shape {gt.shape} does not match the '
                             f'score map shape {scoremap.shape}')
        if not np.isin(gt, (0, 1, 255)).all():
            raise ValueError('GT mask values must be 0, 1 or 255')
        positives.append(scoremap[gt == 1])
        negatives.append(scoremap[gt == 0])
    return tuple(
        np.histogram(np.concatenate(values), bins=edges)[0].astype(np.float64)
        for values in (positives, negatives))


def pxap_from_histograms(positive_hist: np.ndarray,
                         negative_hist: np.ndarray) -> float:
    """PxAP (percent) from the histograms of :func:`pxap_histograms`.

    With ``tp`` and ``fp`` the reverse cumulative sums of the histograms
    (pixels scoring at least each bin's lower edge), precision =
    ``tp / (tp + fp)`` and recall = ``tp / #positives``. PxAP is
    ``100 * sum_k precision_k * (recall_k - recall_{k-1})`` over the
    reversed bins k >= 1 where ``tp + fp > 0``.

    Args:
        positive_hist (np.ndarray): Histogram of the object pixel scores.
        negative_hist (np.ndarray): Histogram of the background pixel
            scores.

    Returns:
        float: PxAP in percent.
    """
    tp = np.asarray(positive_hist, dtype=np.float64)[::-1].cumsum()
    fp = np.asarray(negative_hist, dtype=np.float64)[::-1].cumsum()
    if tp[-1] <= 0:
        raise ValueError('No positive ground truth pixel: PxAP is undefined')
    predicted = tp + fp
    precision = np.divide(tp, predicted, out=np.zeros_like(tp),
                          where=predicted > 0)
    recall = tp / tp[-1]
    area = (precision[1:] * np.diff(recall))[predicted[1:] > 0].sum()
    return float(area * 100)


def pxap(scoremaps: Sequence[ArrayLike], gt_masks: Sequence[ArrayLike],
         thresholds: Sequence[float]) -> float:
    """Pixel average precision (PxAP) of wsolevaluation, in percent.

    See :func:`pxap_histograms` and :func:`pxap_from_histograms`.

    Args:
        scoremaps (Sequence[np.ndarray | torch.Tensor]): Float score maps in
            [0, 1].
        gt_masks (Sequence[np.ndarray | torch.Tensor]): uint8 masks, 1 =
            object, 0 = background, 255 = ignored.
        thresholds (Sequence[float]): Increasing CAM thresholds in [0, 1),
            e.g. ``np.arange(0, 1, 0.001)``.

    Returns:
        float: PxAP in percent.
    """
    return pxap_from_histograms(
        *pxap_histograms(scoremaps, gt_masks, thresholds))


def topk_correct(cls_scores: ArrayLike, gt_labels: ArrayLike,
                 k: int) -> np.ndarray:
    """Whether the GT class is among the ``k`` best-scored classes.

    Classes are ranked by decreasing score, a lower class index first on
    ties (a stable sort).

    Args:
        cls_scores (np.ndarray | torch.Tensor): (N, num_classes) scores.
        gt_labels (np.ndarray | torch.Tensor): (N,) GT class indices.
        k (int): Number of top classes.

    Returns:
        np.ndarray: bool (N,).
    """
    scores = to_numpy(cls_scores)
    labels = to_numpy(gt_labels).astype(np.int64).reshape(-1)
    gt_score = scores[np.arange(labels.size), labels][:, None]
    lower_index = np.arange(scores.shape[1])[None] < labels[:, None]
    rank = ((scores > gt_score) | ((scores == gt_score) & lower_index)).sum(1)
    return rank < k


def topk_localization(best_iou: ArrayLike,
                      cls_scores: ArrayLike,
                      gt_labels: ArrayLike,
                      threshold_index: int,
                      iou_threshold: int = 50,
                      topk: Sequence[int] = (1, 5),
                      protocol: str = 'standard') -> Dict[str, float]:
    """Top-k and GT-known localization accuracy (percent).

    An image is *localized* at τ when ``best_iou >= iou_threshold / 100``,
    where ``best_iou`` comes from the CAM of the GT class (``best_iou`` of
    :func:`max_box_accuracy`). GT-known Loc is the fraction of localized
    images; Top-k Loc also requires the GT class among the ``k`` best-scored
    classes (:func:`topk_correct`). When the top-1 class is right, its CAM
    is the GT one, so this equals the usual "predicted-class CAM" Top-1 Loc.

    Protocols:

    - ``'standard'``: every metric at the fixed threshold index (choose it on
      a held-out split).
    - ``'moana'``: MoANA's ``tester.py``: Top-1 Loc at the fixed index (4,
      i.e. τ = 0.04 on the 0.01 grid, in MoANA), while GT-known Loc and Top-k
      Loc for k > 1 each take the τ that maximises them on the evaluated set
      (first best). MoANA also uses single-contour boxes and 65th-percentile
      normalisation (:func:`normalize_scoremap`).

    Args:
        best_iou (np.ndarray | torch.Tensor): (N, T) best IoU per image and
            CAM threshold.
        cls_scores (np.ndarray | torch.Tensor): (N, num_classes) class
            scores.
        gt_labels (np.ndarray | torch.Tensor): (N,) GT class indices.
        threshold_index (int): Index of the fixed CAM threshold.
        iou_threshold (int): IoU threshold in percent. Defaults to 50.
        topk (Sequence[int]): The k of the Top-k Loc metrics.
            Defaults to (1, 5).
        protocol (str): ``'standard'`` or ``'moana'``.
            Defaults to ``'standard'``.

    Returns:
        dict[str, float]: ``top{k}_loc`` for each k and ``gt_known_loc`` in
        percent, with ``top{k}_loc_threshold_index`` and
        ``gt_known_loc_threshold_index`` (the τ index each one used).
    """
    if protocol not in ('standard', 'moana'):
        raise ValueError(
            f"protocol must be 'standard' or 'moana', got {protocol!r}")
    localized = to_numpy(best_iou) >= iou_threshold / 100
    criteria = {'gt_known_loc': np.ones(localized.shape[0], dtype=bool)}
    for k in topk:
        criteria[f'top{k}_loc'] = topk_correct(cls_scores, gt_labels, k)
    results = {}
    for name, correct in criteria.items():
        accuracy = (localized & correct[:, None]).sum(0) * 100. / len(correct)
        index = threshold_index
        if protocol == 'moana' and name != 'top1_loc':
            index = int(accuracy.argmax())
        results[name] = float(accuracy[index])
        results[f'{name}_threshold_index'] = index
    return results
