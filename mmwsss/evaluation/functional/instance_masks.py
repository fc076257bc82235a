# Copyright (c) mmwsss contributors. All rights reserved.
"""Instance masks: mask average precision (COCO and VOC)."""
import contextlib
import io
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pycocotools.mask as mask_utils
from mmengine.logging import MMLogger
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def predicted_instances(sample: dict, fields: Sequence[str],
                        requirement: str) -> dict:
    """The ``pred_instances`` of a sample, checked to hold ``fields``.

    Args:
        sample (dict): A predicted data sample.
        fields (Sequence[str]): The fields the caller reads.
        requirement (str): The message of the KeyError raised where one is
            missing (say what makes them).

    Returns:
        dict: ``pred_instances`` ({} where the sample has none).
    """
    pred = sample.get('pred_instances') or {}
    if any(field not in pred for field in fields):
        raise KeyError(requirement)
    return pred


def coco_mask_ap(images: Sequence[dict],
                 num_classes: int,
                 det_key: str = 'dets',
                 max_dets: Optional[int] = None,
                 log_title: Optional[str] = None) -> Dict[str, float]:
    """pycocotools ``COCOeval`` (``segm``) AP of detections vs ground truth.

    Args:
        images (Sequence[dict]): Per image ``height``, ``width``, ``gt`` (a
            list of ``(rle, label)``, labels 0-based) and ``det_key`` (a list
            of ``(rle, label)`` with score 1 or ``(rle, label, score)``).
        num_classes (int): Number of foreground classes.
        det_key (str): Key of the detections. Defaults to ``'dets'``.
        max_dets (int, optional): Detections per image counted by the AP
            (COCO's last ``maxDets``). Defaults to COCO's 100.
        log_title (str, optional): Log COCO's summary under this title.
            Defaults to None (not logged).

    Returns:
        dict[str, float]: ``AP``, ``AP50``, ``AP75`` in percent; NaN when
        there is no ground truth or no detection.
    """
    gts, dets, coco_images = [], [], []
    for image_id, image in enumerate(images, start=1):
        coco_images.append(
            dict(id=image_id, height=image['height'], width=image['width']))
        for rle, label in image['gt']:
            gts.append(
                dict(
                    id=len(gts) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    segmentation=rle,
                    area=float(mask_utils.area(rle)),
                    bbox=mask_utils.toBbox(rle).tolist(),
                    iscrowd=0))
        for rle, label, *score in image[det_key]:
            dets.append(
                dict(
                    image_id=image_id,
                    category_id=label + 1,
                    segmentation=rle,
                    score=float(score[0]) if score else 1.0))
    if not gts or not dets:
        return dict(AP=float('nan'), AP50=float('nan'), AP75=float('nan'))
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        coco_gt = COCO()
        coco_gt.dataset = dict(
            images=coco_images,
            annotations=gts,
            categories=[
                dict(id=i + 1, name=str(i)) for i in range(num_classes)
            ])
        coco_gt.createIndex()
        coco_eval = COCOeval(coco_gt, coco_gt.loadRes(dets), 'segm')
        if max_dets is not None:
            coco_eval.params.maxDets = [1, 10, max_dets]
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    if log_title is not None:
        MMLogger.get_current_instance().info(f'{log_title}\n{log.getvalue()}')
    stats = coco_eval.stats
    return dict(AP=stats[0] * 100, AP50=stats[1] * 100, AP75=stats[2] * 100)


def _voc_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    # Area under the monotone precision envelope (VOC 2010+, no 11 points).
    mrec = np.concatenate([[0.], recall, [1.]])
    mpre = np.concatenate([[0.], precision, [0.]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[step + 1] - mrec[step]) * mpre[step + 1]))


def voc_instance_ap(images: Sequence[dict],
                    num_classes: int,
                    iou_threshold: float = 0.5,
                    det_key: str = 'dets') -> Tuple[float, np.ndarray]:
    """Instance-segmentation AP of the PASCAL VOC protocol (IRN's AP@0.5).

    The protocol of chainercv's ``eval_instance_segmentation_voc``, which
    IRN's ``eval_ins_seg`` reports: per image and class, detections in
    decreasing score take the ground-truth mask they overlap most; it is a
    true positive when that IoU reaches ``iou_threshold`` and the mask is not
    taken yet, else a false positive (no fallback to the next best mask).
    Per class, the detections of all images in decreasing score give the
    precision/recall curve, whose area under the monotone precision envelope
    is the AP. Every detection counts, whatever its score (0 included). Ties
    of scores keep their input order (stable sort).

    Args:
        images (Sequence[dict]): Per image ``gt`` (a list of ``(rle,
            label)``) and ``det_key`` (a list of ``(rle, label, score)``).
        num_classes (int): Number of foreground classes.
        iou_threshold (float): IoU of a match. Defaults to 0.5.
        det_key (str): Key of the detections. Defaults to ``'dets'``.

    Returns:
        tuple[float, np.ndarray]: The mean AP over the classes with ground
        truth, in percent (NaN when there is none), and the (num_classes,)
        per-class APs in percent (NaN for classes without ground truth).
    """
    num_pos = np.zeros(num_classes, dtype=np.int64)
    scores: List[List[float]] = [[] for _ in range(num_classes)]
    matches: List[List[bool]] = [[] for _ in range(num_classes)]
    for image in images:
        for label in range(num_classes):
            gt = [rle for rle, gt_label in image['gt'] if gt_label == label]
            det = [(rle, score) for rle, det_label, score in image[det_key]
                   if det_label == label]
            num_pos[label] += len(gt)
            if not det:
                continue
            order = np.argsort([-score for _, score in det], kind='stable')
            det = [det[i] for i in order]
            taken = np.zeros(len(gt), dtype=bool)
            if gt:
                ious = mask_utils.iou([rle for rle, _ in det], gt,
                                      [0] * len(gt))
                best = ious.argmax(axis=1)
                best[ious.max(axis=1) < iou_threshold] = -1
            else:
                best = np.full(len(det), -1)
            for (_, score), gt_index in zip(det, best):
                hit = gt_index >= 0 and not taken[gt_index]
                if hit:
                    taken[gt_index] = True
                scores[label].append(score)
                matches[label].append(hit)
    aps = np.full(num_classes, np.nan)
    for label in np.flatnonzero(num_pos):
        order = np.argsort(-np.asarray(scores[label]), kind='stable')
        hits = np.asarray(matches[label], dtype=bool)[order]
        tp = np.cumsum(hits)
        fp = np.cumsum(~hits)
        aps[label] = _voc_ap(tp / np.maximum(tp + fp, 1),
                             tp / num_pos[label]) * 100
    mean = float(np.nanmean(aps)) if num_pos.any() else float('nan')
    return mean, aps
