# Copyright (c) mmwsss contributors. All rights reserved.
"""Quality of CAM seeds against segmentation ground truth."""
import json
import os
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsss.registry import METRICS
from mmwsss.fileio import atomic_write
from mmwsss.utils.tensor import to_numpy
from ..functional.seed_metrics import cam_seed_confusions, segmentation_scores


@METRICS.register_module()
class CAMSeedMetric(BaseMetric):
    """mIoU of CAM seeds over a sweep of background thresholds.

    As the IRN-family ``eval_cam``: for a threshold ``t`` the seed of a pixel
    is the argmax over [a constant background plane ``t``; the CAMs of the
    image's ground-truth classes], mapped through ``keys + 1``; 255 in the
    ground truth is ignored; IoU = TP / (TP + FP + FN). The best threshold is
    reported with its mIoU, mean precision, recall and F1 (in percent); the
    per-class scores at that threshold and the whole mIoU curve are logged
    and, with ``out_file``, saved as JSON.

    Each image contributes the confusion matrices restricted to the labels
    involved in it, so memory stays small for large datasets.

    Args:
        thresholds (Sequence[float], optional): Background thresholds.
            Defaults to 0.01, 0.02, ..., 0.99.
        cam_key (str): Data-sample field of the (K, H, W) maps. Defaults to
            ``'cam_high_res'``.
        out_file (str, optional): JSON report to write. Defaults to None.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'cam_seed'``.
    """

    default_prefix = 'cam_seed'

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 cam_key: str = 'cam_high_res',
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if thresholds is None:
            thresholds = np.arange(1, 100) / 100
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        if self.thresholds.ndim != 1 or self.thresholds.size == 0:
            raise ValueError('thresholds must be a non-empty 1-D sequence')
        self.cam_key = cam_key
        self.out_file = out_file

    @property
    def num_classes(self) -> int:
        """Number of classes, background included."""
        return len(self.dataset_meta['classes']) + 1

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Accumulate the per-threshold confusion of each image."""
        for sample in data_samples:
            self.results.append(
                self.image_confusion(
                    to_numpy(sample[self.cam_key]), to_numpy(sample['cam_keys']),
                    to_numpy(sample['gt_sem_seg']['data']).squeeze(0)))

    def image_confusion(self, cams: np.ndarray, keys: np.ndarray,
                        gt: np.ndarray) -> dict:
        """Sweep confusions of one image, restricted to its labels."""
        full = cam_seed_confusions(cams, keys, gt, self.thresholds,
                                   self.num_classes)
        labels = np.union1d(
            np.flatnonzero(full.sum(axis=(0, 1))),
            np.flatnonzero(full.sum(axis=(0, 2))))
        return dict(labels=labels, confusion=full[:, labels][:, :, labels])

    def compute_metrics(self, results: List[dict]) -> dict:
        """Sum the confusions, pick the best threshold, report."""
        total = np.zeros(
            (self.thresholds.size, self.num_classes, self.num_classes),
            dtype=np.int64)
        for item in results:
            labels = item['labels']
            total[:, labels[:, None], labels[None, :]] += item['confusion']
        curve = np.array(
            [segmentation_scores(conf)['miou'] for conf in total])
        best = int(np.nanargmax(curve))
        scores = segmentation_scores(total[best])
        report = dict(
            num_images=len(results),
            best_threshold=float(self.thresholds[best]),
            miou=scores['miou'] * 100,
            mean_precision=scores['mean_precision'] * 100,
            mean_recall=scores['mean_recall'] * 100,
            mean_f1=scores['mean_f1'] * 100,
            per_class={
                name: {
                    key: float(scores[key][i] * 100)
                    for key in ('iou', 'precision', 'recall', 'f1')
                }
                for i, name in enumerate(self.class_names)
            },
            curve=[[float(t), float(m * 100)]
                   for t, m in zip(self.thresholds, curve)])
        self._log(report)
        if self.out_file:
            os.makedirs(osp.dirname(osp.abspath(self.out_file)), exist_ok=True)
            atomic_write(
                self.out_file, lambda f: f.write(
                    json.dumps(report, indent=2).encode()))
        return dict(
            mIoU=report['miou'],
            threshold=report['best_threshold'],
            precision=report['mean_precision'],
            recall=report['mean_recall'],
            f1=report['mean_f1'])

    @property
    def class_names(self) -> List[str]:
        """Background followed by the dataset's class names."""
        return ['background'] + list(self.dataset_meta['classes'])

    @staticmethod
    def _log(report: dict) -> None:
        logger = MMLogger.get_current_instance()
        lines = [f'{"class":<16}{"IoU":>8}{"Prec":>8}{"Rec":>8}{"F1":>8}']
        for name, s in report['per_class'].items():
            lines.append(f'{name:<16}{s["iou"]:>8.2f}{s["precision"]:>8.2f}'
                         f'{s["recall"]:>8.2f}{s["f1"]:>8.2f}')
        curve = ', '.join(f'{t:.2f}:{m:.1f}' for t, m in report['curve'][::5])
        logger.info(f'CAM seeds at the best background threshold '
                    f'{report["best_threshold"]:.2f} (mIoU '
                    f'{report["miou"]:.2f}):\n' + '\n'.join(lines) +
                    f'\nmIoU curve (every 5th threshold): {curve}')
