# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.evaluation.functional."""
from .label_maps import label_confusion
from .seed_metrics import (cam_seed_confusion, cam_seed_confusions,
                           segmentation_scores)
from .wsol import (best_mean_iou, box_iou_inclusive, boxes_from_scoremap,
                   max_box_accuracy, normalize_scoremap, pxap,
                   pxap_from_histograms, pxap_gt_mask, pxap_histograms,
                   resize_box, topk_correct, topk_localization)

__all__ = [
    'label_confusion', 'cam_seed_confusion',
    'cam_seed_confusions', 'segmentation_scores',
    'best_mean_iou', 'box_iou_inclusive', 'boxes_from_scoremap',
    'max_box_accuracy', 'normalize_scoremap', 'pxap', 'pxap_from_histograms',
    'pxap_gt_mask', 'pxap_histograms', 'resize_box', 'topk_correct',
    'topk_localization'
]
