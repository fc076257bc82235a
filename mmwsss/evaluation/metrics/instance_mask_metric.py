# Copyright (c) mmwsss contributors. All rights reserved.
"""Average precision of instance pseudo-masks against ground truth."""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsss.fileio import encode_rle, read_label_map, sample_name
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from ..functional.instance_masks import (coco_mask_ap, predicted_instances,
                                         voc_instance_ap)


def gt_instances(instance_map: np.ndarray, class_map: np.ndarray) -> tuple:
    """Ground-truth instances of a VOC ``SegmentationObject`` map.

    Every id of ``instance_map`` other than 0 (background) and 255 (void) is
    an instance; its class is the most frequent foreground class of
    ``class_map`` under it (VOC's maps agree, so this is *the* class, as
    chainercv's VOC instance dataset reads it). Instances without a
    foreground class pixel are dropped.

    Args:
        instance_map (np.ndarray): (H, W) instance ids.
        class_map (np.ndarray): (H, W) semantic labels, 0 = background,
            ``k + 1`` = class ``k``, 255 = void.

    Returns:
        tuple[np.ndarray, np.ndarray]: (N, H, W) bool masks and (N,) int64
        0-based classes, in increasing instance id.
    """
    if instance_map.shape != class_map.shape:
        raise ValueError(f'Instance map of size {instance_map.shape} but '
                         f'class map of size {class_map.shape}')
    masks, labels = [], []
    for inst_id in np.unique(instance_map):
        if inst_id in (0, 255):
            continue
        mask = instance_map == inst_id
        classes = class_map[mask].astype(np.int64)
        classes = classes[(classes > 0) & (classes != 255)]
        if classes.size:
            masks.append(mask)
            labels.append(np.bincount(classes).argmax() - 1)
    return (np.asarray(masks, dtype=bool).reshape(-1, *instance_map.shape),
            np.asarray(labels, dtype=np.int64))


@METRICS.register_module()
class InstancePseudoMaskMetric(BaseMetric):
    """AP of instance pseudo-masks against VOC-style ground truth.

    Needs ``pred_instances`` (``masks``, ``scores``, ``labels``) of
    :class:`mmwsss.IRNetInstanceWalk` (or :class:`InstancePseudoMaskWriter`
    when resumed) and ``gt_sem_seg`` (:class:`mmwsss.LoadLabelMap`). The
    ground-truth instances come from ``<instance_dir>/<id>.png`` (VOC's and
    SynthVOC's ``SegmentationObject``; see :func:`gt_instances`); images
    without that file are skipped and counted in ``missing_gt`` (VOC's SBD
    images have none); if no image has one, ``instance_dir`` is wrong and
    the evaluation fails rather than reporting an AP of nothing. Reported, in percent:

    - ``voc_AP50``: the mean over classes of the VOC-protocol AP at IoU 0.5
      (:func:`mmwsss.evaluation.functional.instance_masks.voc_instance_ap`),
      the number IRN reports for its instance pseudo-labels;
    - ``mask_AP``, ``mask_AP50``, ``mask_AP75``: pycocotools ``COCOeval``
      (``segm``) with every detection of an image counted (``maxDets``
      raised above 100 when needed); the 101-point COCO interpolation and
      matching give a slightly different AP50 than the VOC protocol.

    A per-class table of the VOC AP is logged.

    Args:
        instance_dir (str): Folder of the ground-truth instance PNGs.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'instance_pseudo_mask'``.
    """

    default_prefix = 'instance_pseudo_mask'

    def __init__(self,
                 instance_dir: str,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.instance_dir = instance_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Encode the predicted and ground-truth masks of each sample."""
        for sample in data_samples:
            pred = predicted_instances(
                sample, ('masks', 'scores'),
                'InstancePseudoMaskMetric needs pred_instances with masks '
                'and scores (mmwsss.IRNetInstanceWalk); when resuming, list '
                'mmwsss.InstancePseudoMaskWriter in test_evaluator.')
            path = osp.join(self.instance_dir, sample_name(sample) + '.png')
            if not osp.isfile(path):
                self.results.append(dict(missing=path))
                continue
            if sample.get('gt_sem_seg') is None:
                raise KeyError('InstancePseudoMaskMetric needs gt_sem_seg for '
                               'the classes of the instances: load it with '
                               'mmwsss.LoadLabelMap')
            class_map = to_numpy(sample['gt_sem_seg']['data'])
            class_map = class_map.reshape(class_map.shape[-2:])
            gt_masks, gt_labels = gt_instances(
                read_label_map(path, 254), class_map)
            masks = to_numpy(pred['masks']).astype(bool)
            if len(masks) and masks.shape[1:] != gt_masks.shape[1:]:
                raise ValueError(
                    f'{sample.get("img_path")}: pseudo-masks of size '
                    f'{masks.shape[1:]} but ground truth of size '
                    f'{gt_masks.shape[1:]}')
            self.results.append(
                dict(
                    height=gt_masks.shape[1],
                    width=gt_masks.shape[2],
                    gt=[(encode_rle(m), int(c))
                        for m, c in zip(gt_masks, gt_labels)],
                    dets=[(encode_rle(m), int(c), float(s))
                          for m, c, s in zip(masks, to_numpy(pred['labels']),
                                             to_numpy(pred['scores']))]))

    def compute_metrics(self, results: List[dict]) -> dict:
        """VOC-protocol and COCO mask AP over the scored images."""
        missing = [r['missing'] for r in results if 'missing' in r]
        scored = [r for r in results if 'missing' not in r]
        logger = MMLogger.get_current_instance()
        if not scored:
            raise FileNotFoundError(
                f'InstancePseudoMaskMetric: none of the {len(missing)} '
                'images has a ground-truth instance map in '
                f'{self.instance_dir}; set instance_dir to the '
                'SegmentationObject folder of the data.')
        if missing:
            logger.warning(f'{len(missing)} images have no ground-truth '
                           f'instance map and are not scored, e.g. '
                           f'{missing[0]}')
        classes = self.dataset_meta['classes']
        voc_ap, class_aps = voc_instance_ap(scored, len(classes))
        max_dets = max([len(r['dets']) for r in scored] + [100])
        coco = coco_mask_ap(
            scored,
            len(classes),
            max_dets=max_dets,
            log_title='COCO segm of the instance pseudo-masks:')
        logger.info('VOC AP@0.5 of the instance pseudo-masks:\n' +
                    '\n'.join(f'{name:<16}{ap:>8.2f}'
                              for name, ap in zip(classes, class_aps)))
        return dict(
            voc_AP50=voc_ap,
            mask_AP=coco['AP'],
            mask_AP50=coco['AP50'],
            mask_AP75=coco['AP75'],
            images=len(scored),
            missing_gt=len(missing))
