# Copyright (c) mmwsss contributors. All rights reserved.
"""Quality of box pseudo-masks (BBAM) against ground-truth instance masks."""
from typing import Any, Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmwsss.fileio import encode_rle
from mmwsss.models.bbam import filled_box_masks, merge_semantic_labels
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from ..functional.instance_masks import coco_mask_ap, predicted_instances
from ..functional.label_maps import label_confusion
from ..functional.seed_metrics import segmentation_scores


def _box_array(boxes: Any) -> np.ndarray:
    return to_numpy(getattr(boxes, 'tensor',
                          boxes)).astype(np.float64).reshape(-1, 4)


def _semantic_gt(masks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    label_map = np.zeros(masks.shape[1:], dtype=np.int64)
    for mask, label in zip(masks, labels):
        label_map[mask] = label + 1
    return label_map


@METRICS.register_module()
class BoxPseudoMaskMetric(BaseMetric):
    """Quality of box pseudo-masks against ground-truth instance masks.

    Needs ``pred_instances.masks`` / ``ignore_masks`` of
    :class:`mmwsss.BBAM` with ``pseudo_mask_cfg`` (read back from the files
    of :class:`mmwsss.BBAMPseudoMaskWriter` for resumed images) and
    ``gt_instances.masks`` in the original image frame (mmdet's
    ``LoadAnnotations(with_mask=True)`` after ``Resize``). The objects not
    from ``ignored_instances`` pair one to one, in order, with
    ``gt_instances``. Images without ground-truth masks are skipped.
    Reported, in percent, for the pseudo-masks and for the trivial baseline
    that fills every box (same merge, same protocol):

    - ``mIoU`` / ``box_mIoU``: semantic labels of
      :func:`mmwsss.models.bbam.merge_semantic_labels` (as the model's
      ``pred_sem_seg``; the baseline's boxes as both masks) against the ground
      truth's instance masks, predicted 255 counted as background (IRN's
      ``eval_sem_seg``), background included;
    - ``ignored``: share of pixels the pseudo-labels ignore (255);
    - ``mean_instance_IoU`` / ``box_mean_instance_IoU``: mean over objects
      of the IoU of an object's foreground mask with its own ground-truth
      mask;
    - ``mask_AP``, ``mask_AP50``, ``mask_AP75`` and the ``box_`` versions:
      pycocotools ``COCOeval`` (``segm``) of the foreground masks as
      detections with score 1 against the ground-truth masks.

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'box_pseudo_mask'``.
    """

    default_prefix = 'box_pseudo_mask'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the pseudo-masks and the filled boxes of each image."""
        num_classes = len(self.dataset_meta['classes']) + 1
        for sample in data_samples:
            pred = predicted_instances(
                sample, ('masks', 'ignore_masks'),
                'BoxPseudoMaskMetric needs pred_instances.masks and '
                'ignore_masks: set pseudo_mask_cfg=dict(...) in the '
                'mmwsss.BBAM model.')
            gt = sample.get('gt_instances') or {}
            if gt.get('masks') is None:
                continue
            gt_masks = gt['masks'].to_ndarray().astype(bool)
            gt_labels = to_numpy(gt['labels']).astype(np.int64)
            fg = to_numpy(pred['masks']).astype(bool)
            ignore = to_numpy(pred['ignore_masks']).astype(bool)
            labels = to_numpy(pred['labels']).astype(np.int64)
            boxes = _box_array(pred['bboxes'])
            own = ~to_numpy(pred['from_ignored']).astype(bool)
            if gt_masks.shape[1:] != fg.shape[1:]:
                raise ValueError(
                    f'{sample.get("img_path")}: ground-truth masks of size '
                    f'{gt_masks.shape[1:]} but pseudo-masks of size '
                    f'{fg.shape[1:]}; load the annotations after Resize so '
                    'that they stay in the original frame.')
            if own.sum() != len(gt_labels) or (labels[own] != gt_labels).any():
                raise ValueError(
                    f'{sample.get("img_path")}: the pseudo-masks do not pair '
                    'with gt_instances (different count or classes).')
            height, width = fg.shape[1:]
            filled = filled_box_masks(boxes, height, width)
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]],
                                  axis=1)
            gt_sem = _semantic_gt(gt_masks, gt_labels)
            pseudo_sem = merge_semantic_labels(labels + 1, xywh, fg, ignore)
            box_sem = merge_semantic_labels(labels + 1, xywh, filled, filled)

            def instance_ious(masks: np.ndarray) -> List[float]:
                inter = (masks[own] & gt_masks).sum(axis=(1, 2))
                union = (masks[own] | gt_masks).sum(axis=(1, 2))
                return (inter / np.maximum(union, 1)).tolist()

            self.results.append(
                dict(
                    confusion=label_confusion(pseudo_sem, gt_sem, num_classes,
                                              False),
                    box_confusion=label_confusion(box_sem, gt_sem, num_classes,
                                                  False),
                    ignored=int((pseudo_sem == 255).sum()),
                    pixels=int(pseudo_sem.size),
                    ious=instance_ious(fg),
                    box_ious=instance_ious(filled),
                    height=height,
                    width=width,
                    gt=[(encode_rle(m), int(c))
                        for m, c in zip(gt_masks, gt_labels)],
                    pseudo=[(encode_rle(m), int(c))
                            for m, c in zip(fg[own], gt_labels)],
                    box=[(encode_rle(m), int(c))
                         for m, c in zip(filled[own], gt_labels)]))

    @staticmethod
    def _mask_ap(results: List[dict], key: str,
                 num_classes: int) -> Dict[str, float]:
        """COCO segm AP of the ``key`` masks as score-1 detections."""
        return coco_mask_ap(
            results,
            num_classes,
            det_key=key,
            log_title=f'COCO segm of the {key} masks:')

    def compute_metrics(self, results: List[dict]) -> dict:
        """Aggregate the scores of every image."""
        if not results:
            return dict()
        num_classes = len(self.dataset_meta['classes'])
        metrics = dict()
        for prefix, conf, ious, key in (('', 'confusion', 'ious', 'pseudo'),
                                        ('box_', 'box_confusion', 'box_ious',
                                         'box')):
            total = np.sum([r[conf] for r in results], axis=0)
            all_ious = [iou for r in results for iou in r[ious]]
            metrics[f'{prefix}mIoU'] = segmentation_scores(total)['miou'] * 100
            metrics[f'{prefix}mean_instance_IoU'] = float(
                np.mean(all_ious) * 100) if all_ious else float('nan')
            for name, value in self._mask_ap(results, key,
                                             num_classes).items():
                metrics[f'{prefix}mask_{name}'] = value
        metrics['ignored'] = sum(r['ignored'] for r in results) / max(
            sum(r['pixels'] for r in results), 1) * 100
        return metrics
