# Copyright (c) mmwsss contributors. All rights reserved.
"""Quality of IR labels and semantic pseudo-masks against ground truth."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from ..functional.label_maps import label_confusion
from ..functional.seed_metrics import segmentation_scores


def _label(field) -> np.ndarray:
    data = to_numpy(field['data'])
    return data.reshape(data.shape[-2:]).astype(np.int64)


class _LabelMapMetric(BaseMetric):
    """Accumulate the confusion of ``pred_sem_seg`` against ``gt_sem_seg``."""

    unlabelled_column = False

    @property
    def class_names(self) -> List[str]:
        """Background followed by the dataset's class names."""
        return ['background'] + list(self.dataset_meta['classes'])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Accumulate the confusion of each sample."""
        num_classes = len(self.class_names)
        for sample in data_samples:
            self.results.append(
                label_confusion(
                    _label(sample['pred_sem_seg']),
                    _label(sample['gt_sem_seg']), num_classes,
                    self.unlabelled_column))

    def _log_table(self, title: str, columns: Dict[str, np.ndarray]) -> None:
        lines = [f'{"class":<16}' + ''.join(f'{k:>10}' for k in columns)]
        for i, name in enumerate(self.class_names):
            lines.append(f'{name:<16}' + ''.join(f'{v[i] * 100:>10.2f}'
                                                 for v in columns.values()))
        MMLogger.get_current_instance().info(title + '\n' + '\n'.join(lines))


@METRICS.register_module()
class IRLabelMetric(_LabelMapMetric):
    """Precision and coverage of IR labels (confident fg / bg, 255 unknown).

    Over the pixels whose ground truth is not 255:

    - ``precision``: correct / labelled (255 in the IR label = unlabelled);
    - ``fg_precision`` / ``bg_precision``: the same over the pixels labelled
      foreground / background;
    - ``mPrecision``: per-class precision averaged over the classes;
    - ``labelled``: labelled / all pixels;
    - ``fg_labelled``: ground-truth foreground pixels labelled with their
      class / all ground-truth foreground pixels.

    All in percent; a per-class table (precision, fraction labelled) is
    logged. Needs ``pred_sem_seg`` (:class:`mmwsss.IRLabelGenerator`) and
    ``gt_sem_seg`` (:class:`mmwsss.LoadLabelMap` +
    :class:`mmwsss.PackCAMInputs`).

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'ir_label'``.
    """

    default_prefix = 'ir_label'
    unlabelled_column = True

    def compute_metrics(self, results: List[np.ndarray]) -> dict:
        """Sum the confusions and report."""
        total = np.sum(results, axis=0).astype(np.float64)
        labelled = total[:, :-1]
        tp = np.diag(labelled)

        def ratio(num: float, den: float) -> float:
            return float(num / den * 100) if den > 0 else float('nan')

        scores = segmentation_scores(labelled)
        row = total.sum(axis=1)
        self._log_table(
            'IR labels per class (precision among labelled pixels, fraction '
            'of ground-truth pixels labelled correctly):',
            dict(
                precision=scores['precision'],
                labelled=np.divide(
                    tp, row, out=np.full_like(tp, np.nan), where=row > 0)))
        return dict(
            precision=ratio(tp.sum(), labelled.sum()),
            fg_precision=ratio(tp[1:].sum(), labelled[:, 1:].sum()),
            bg_precision=ratio(tp[0], labelled[:, 0].sum()),
            mPrecision=scores['mean_precision'] * 100,
            labelled=ratio(labelled.sum(), total.sum()),
            fg_labelled=ratio(tp[1:].sum(), total[1:].sum()))


@METRICS.register_module()
class PseudoMaskMetric(_LabelMapMetric):
    """mIoU of semantic pseudo-masks, as IRN's ``eval_sem_seg``.

    Predicted 255 counts as background, ground-truth 255 is ignored,
    IoU = TP / (TP + FP + FN) per class (background included) and the mean
    runs over the classes present in the ground truth or the prediction.
    Reports ``mIoU``, ``mPrecision``, ``mRecall`` and pixel accuracy
    ``aAcc`` in percent and logs the per-class table. It reads the same
    ``pred_sem_seg`` / ``gt_sem_seg`` fields as mmseg's ``IoUMetric``, but
    counts the background itself (mmwsss datasets list foreground classes
    only).

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'pseudo_mask'``.
    """

    default_prefix = 'pseudo_mask'

    def compute_metrics(self, results: List[np.ndarray]) -> dict:
        """Sum the confusions and report."""
        total = np.sum(results, axis=0)
        scores = segmentation_scores(total)
        self._log_table(
            'Pseudo-masks per class:',
            dict(
                IoU=scores['iou'],
                precision=scores['precision'],
                recall=scores['recall']))
        return dict(
            mIoU=scores['miou'] * 100,
            mPrecision=scores['mean_precision'] * 100,
            mRecall=scores['mean_recall'] * 100,
            aAcc=float(np.trace(total) / max(total.sum(), 1) * 100))
