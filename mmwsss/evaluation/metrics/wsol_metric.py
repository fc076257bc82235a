# Copyright (c) mmwsss contributors. All rights reserved.
"""The WSOL metrics of wsolevaluation plus Top-k / GT-known localization,
and the variants of MoANA and RFGA."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from ..functional.wsol import (best_mean_iou, max_box_accuracy,
                               pxap_from_histograms, pxap_histograms,
                               resize_box, topk_correct)

#: MoANA's fixed Top-1 Loc threshold (index 4 of its 0.01 grid).
MOANA_CAM_THRESHOLD = 0.04
#: The percentile MoANA subtracts from its score maps.
MOANA_CAM_PERCENTILE = 65
#: Default IoU thresholds (percent) per protocol.
PROTOCOL_IOU_THRESHOLDS = dict(
    standard=(30, 50, 70), moana=(30, 50, 70), rfga=(50, 60, 70, 80, 90))


def _normalisation_name(percentile: Optional[float]) -> str:
    return 'min-max' if percentile is None else f'{percentile}th-percentile'


@METRICS.register_module()
class WSOLMetric(BaseMetric):
    """MaxBoxAcc, MaxBoxAccV2, PxAP and Top-k / GT-known localization.

    Follows clovaai/wsolevaluation (`Evaluating Weakly Supervised Object
    Localization Methods Right <https://arxiv.org/abs/2001.07437>`_) on score
    maps ``S`` in [0, 1] (``normalize_scoremap``), with CAM thresholds
    ``τ = np.arange(0, 1, cam_curve_interval)``. Three protocols, named by
    ``protocol``; numbers of different protocols are not comparable.

    ``'standard'`` (default, wsolevaluation):

    - ``MaxBoxAcc`` (CVPR'20): largest-contour box, IoU >= 50, best τ.
    - ``MaxBoxAccV2`` (TPAMI): boxes of all contours, mean over
      ``iou_thresholds`` (default 30, 50, 70) of the accuracy at each δ's own
      best τ (also reported per δ as ``MaxBoxAccV2_IoU{δ}``).
    - ``PxAP``: pixel average precision over the images with ``gt_mask``.
    - ``GTKnownLoc``, ``Top{k}Loc`` (accuracies in percent; the usual
      localization *errors* are 100 minus them): an image is localized when
      the largest-contour box of the GT-class CAM has IoU >= 50 with a GT box;
      Top-k Loc also needs the GT class among the k best scores (if the top-1
      class is right its CAM is the GT one, so this is the usual Top-1 Loc).
      ``Top{k}Cls`` are the classification accuracies. Their τ is
      ``cam_threshold``, which should be chosen on a validation split; with
      ``cam_threshold=None`` the best MaxBoxAcc τ of the evaluated split is
      used (an oracle, as MaxBoxAcc itself); the log says so.

    ``'moana'`` (MoANA's ``tester.py``, Sohn et al. 2023): score maps
    normalised by their 65th percentile instead of min-max
    (``WSOLClassifier(cam_percentile=65)``; maps that the classifier marks
    otherwise are refused), Top-1 Loc at the fixed τ ``cam_threshold``
    (default 0.04, index 4 of MoANA's 0.01 grid), GT-known and Top-k Loc
    (k > 1) each at their own best τ on the evaluated split, as the code
    does, and ``MaxBoxAccMoANA``, the mean over ``iou_thresholds`` of
    largest-contour MaxBoxAcc. The standard metrics are reported as well.
    ``best_threshold_per_metric=False`` puts GT-known and Top-k Loc at the
    fixed τ too: no oracle threshold left in the localization accuracies.

    ``'rfga'`` (RFGA, Sohn et al. 2021, Table 1): largest-contour MaxBoxAcc
    at each IoU of ``iou_thresholds`` (default 50, 60, 70, 80, 90) as
    ``MaxBoxAcc_IoU{δ}``, their mean ``MaxBoxAccRFGA`` and ``mIoU``, the mean
    over images of the best box IoU at the τ that maximises it
    (:func:`best_mean_iou`, percent). No all-contour (MaxBoxAccV2) numbers:
    RFGA's boxes are the largest contour's. ``MaxBoxAcc``, ``PxAP`` and the
    Top-k / GT-known accuracies are as in ``'standard'``.

    Each image is reduced in :meth:`process` to per-threshold hit bits (and
    IoUs for RFGA's mIoU) and, with masks, score histograms, so memory stays
    small on large splits.

    Data-sample fields read (as produced by :class:`mmwsss.WSOLClassifier`
    and :class:`mmwsss.PackWSOLInputs`):

    - ``cam_gt`` (or ``cam_key``): float (H, W) score map of the GT class in
      [0, 1], covering the whole image (float64 keeps the uint8 truncation of
      the protocol exact).
    - ``pred_score``: (num_classes,) class scores.
    - ``gt_label``: the GT class.
    - ``gt_bboxes``: (N, 4) xyxy boxes in original-image pixels, rescaled here
      to (H, W) with ``resize_box`` (truncation) using ``ori_shape`` (h, w).
    - ``gt_mask`` (optional): uint8 (H, W) PxAP ground truth (1 object,
      0 background, 255 ignored).
    - ``cam_percentile`` (optional metainfo of the classifier): how the map
      was normalised (None = min-max); checked against the protocol.

    Args:
        cam_key (str): Field of the score map. Defaults to ``'cam_gt'``.
        cam_curve_interval (float): Step of the τ grid; wsolevaluation's
            training script uses 0.001, its CLI, MoANA and RFGA 0.01.
            Defaults to 0.001.
        iou_thresholds (Sequence[int], optional): δ in percent, must include
            50. Defaults to None: (30, 50, 70), for RFGA (50, 60, 70, 80, 90).
        cam_threshold (float, optional): τ of the localization accuracies, on
            the grid. Defaults to None (see above; 0.04 for MoANA).
        topk (Sequence[int]): The k of Top-k Loc / Cls. Defaults to (1, 5).
        protocol (str): ``'standard'``, ``'moana'`` or ``'rfga'``.
            Defaults to ``'standard'``.
        best_threshold_per_metric (bool, optional): Evaluate GT-known and
            Top-k Loc (k > 1) each at its own best τ of the split instead of
            at the τ of Top-1 Loc. Defaults to None: True for ``'moana'``
            (its ``tester.py``), False for the other protocols.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'wsol'``.
    """

    default_prefix = 'wsol'

    def __init__(self,
                 cam_key: str = 'cam_gt',
                 cam_curve_interval: float = 0.001,
                 iou_thresholds: Optional[Sequence[int]] = None,
                 cam_threshold: Optional[float] = None,
                 topk: Sequence[int] = (1, 5),
                 protocol: str = 'standard',
                 best_threshold_per_metric: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if protocol not in PROTOCOL_IOU_THRESHOLDS:
            raise ValueError(f'protocol must be one of '
                             f'{tuple(PROTOCOL_IOU_THRESHOLDS)}, got '
                             f'{protocol!r}')
        if iou_thresholds is None:
            iou_thresholds = PROTOCOL_IOU_THRESHOLDS[protocol]
        if not 0 < cam_curve_interval < 1:
            raise ValueError('cam_curve_interval must be in (0, 1), got '
                             f'{cam_curve_interval}')
        self.iou_thresholds = np.asarray(iou_thresholds, dtype=np.int64)
        if 50 not in self.iou_thresholds:
            raise ValueError('iou_thresholds must include 50 (MaxBoxAcc and '
                             f'the localization accuracies), got '
                             f'{list(iou_thresholds)}')
        self.cam_key = cam_key
        self.thresholds = np.arange(0, 1, cam_curve_interval)
        self.topk = tuple(int(k) for k in topk)
        self.protocol = protocol
        if best_threshold_per_metric is None:
            best_threshold_per_metric = protocol == 'moana'
        self.best_threshold_per_metric = best_threshold_per_metric
        if cam_threshold is None and protocol == 'moana':
            cam_threshold = MOANA_CAM_THRESHOLD
        self.cam_threshold = cam_threshold
        self.threshold_index = None
        if cam_threshold is not None:
            self.threshold_index = int(
                round(cam_threshold / cam_curve_interval))
            if not (0 <= self.threshold_index < self.thresholds.size
                    and np.isclose(self.thresholds[self.threshold_index],
                                   cam_threshold)):
                raise ValueError(
                    f'cam_threshold {cam_threshold} is not on the grid '
                    f'np.arange(0, 1, {cam_curve_interval})')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Reduce every image to small per-threshold statistics."""
        for sample in data_samples:
            try:
                self.results.append(self._image_result(sample))
            except ValueError as e:
                raise ValueError(
                    f'{sample.get("img_path", "image")}: {e}') from e

    def _check_normalisation(self, sample: dict) -> None:
        """Refuse score maps normalised for another protocol."""
        if 'cam_percentile' not in sample:
            return
        expected = (
            MOANA_CAM_PERCENTILE if self.protocol == 'moana' else None)
        if sample['cam_percentile'] != expected:
            raise ValueError(
                f'protocol {self.protocol!r} expects '
                f'{_normalisation_name(expected)} score maps, got '
                f'{_normalisation_name(sample["cam_percentile"])} ones; set '
                f'WSOLClassifier(cam_percentile={expected})')

    def _image_result(self, sample: dict) -> dict:
        self._check_normalisation(sample)
        scoremap = to_numpy(sample[self.cam_key])
        if scoremap.ndim != 2:
            raise ValueError(f'{self.cam_key} must be an (H, W) score map, '
                             f'got shape {scoremap.shape}')
        label = to_numpy(sample['gt_label']).reshape(-1)
        if label.size != 1:
            raise ValueError(f'WSOL needs one GT label, got {label.tolist()}')
        scores = to_numpy(sample['pred_score']).reshape(1, -1)
        result = dict(
            topk=np.array(
                [topk_correct(scores, label, k)[0] for k in self.topk]))
        if 'gt_bboxes' in sample:
            ori_h, ori_w = sample['ori_shape']
            gt_boxes = resize_box(
                to_numpy(sample['gt_bboxes']), (ori_w, ori_h),
                scoremap.shape[::-1])
            modes = [('box_v1', False)]
            if self.protocol != 'rfga':
                modes.append(('box_v2', True))
            for key, multi_contour in modes:
                best_iou = max_box_accuracy([scoremap], [gt_boxes],
                                            self.thresholds,
                                            self.iou_thresholds,
                                            multi_contour)['best_iou'][0]
                hits = best_iou[None] >= (self.iou_thresholds / 100)[:, None]
                result[key] = np.packbits(hits)
                if self.protocol == 'rfga' and not multi_contour:
                    # float32 IoUs: exact to ~1e-7, well below the 0.01 %
                    # that RFGA's mIoU is printed with
                    result['iou_v1'] = best_iou.astype(np.float32)
        if 'gt_mask' in sample:
            histograms = pxap_histograms([scoremap],
                                         [to_numpy(sample['gt_mask'])],
                                         self.thresholds)
            # Counts never exceed the pixel count: store them compactly.
            dtype = np.min_scalar_type(scoremap.size)
            result['pxap_pos'], result['pxap_neg'] = (
                h.astype(dtype) for h in histograms)
        return result

    def compute_metrics(self, results: List[dict]) -> dict:
        """Sum the per-image statistics and compute the metrics."""
        metrics = {}
        topk_hits = np.stack([r['topk'] for r in results])
        for k, hits in zip(self.topk, topk_hits.T):
            metrics[f'Top{k}Cls'] = float(hits.mean() * 100)
        box_results = [r for r in results if 'box_v1' in r]
        mask_results = [r for r in results if 'pxap_pos' in r]
        if not box_results and not mask_results:
            raise ValueError('WSOLMetric needs gt_bboxes or gt_mask in the '
                             'data samples (see PackWSOLInputs)')
        if box_results:
            metrics.update(self._box_metrics(box_results))
        if mask_results:
            metrics['PxAP'] = pxap_from_histograms(
                sum(r['pxap_pos'].astype(np.float64) for r in mask_results),
                sum(r['pxap_neg'].astype(np.float64) for r in mask_results))
        return metrics

    def _box_metrics(self, results: List[dict]) -> dict:
        num_deltas, num_thresholds = len(self.iou_thresholds), len(
            self.thresholds)
        iou50 = int(np.flatnonzero(self.iou_thresholds == 50)[0])

        def unpack(bits: np.ndarray) -> np.ndarray:
            return np.unpackbits(
                bits, count=num_deltas * num_thresholds).reshape(
                    num_deltas, num_thresholds).astype(bool)

        v1 = np.zeros((num_deltas, num_thresholds), dtype=np.int64)
        v2 = np.zeros_like(v1)
        topk_loc = np.zeros((len(self.topk), num_thresholds), dtype=np.int64)
        for r in results:
            hits = unpack(r['box_v1'])
            v1 += hits
            if 'box_v2' in r:
                v2 += unpack(r['box_v2'])
            topk_loc += hits[iou50][None] & r['topk'][:, None]
        num_images = len(results)
        acc_v1, acc_v2 = v1 * 100. / num_images, v2 * 100. / num_images
        topk_loc = topk_loc * 100. / num_images

        metrics = dict(MaxBoxAcc=float(acc_v1[iou50].max()))
        if self.protocol == 'rfga':
            for delta, curve in zip(self.iou_thresholds, acc_v1):
                metrics[f'MaxBoxAcc_IoU{delta}'] = float(curve.max())
            metrics['MaxBoxAccRFGA'] = float(acc_v1.max(axis=1).mean())
            metrics['mIoU'] = best_mean_iou(
                np.stack([r['iou_v1'] for r in results]))[0]
        else:
            for delta, curve in zip(self.iou_thresholds, acc_v2):
                metrics[f'MaxBoxAccV2_IoU{delta}'] = float(curve.max())
            metrics['MaxBoxAccV2'] = float(acc_v2.max(axis=1).mean())
        if self.protocol == 'moana':
            metrics['MaxBoxAccMoANA'] = float(acc_v1.max(axis=1).mean())

        fixed = self.threshold_index
        if fixed is None:
            fixed = int(acc_v1[iou50].argmax())
        curves = {'GTKnownLoc': acc_v1[iou50]}
        curves.update(
            (f'Top{k}Loc', curve) for k, curve in zip(self.topk, topk_loc))
        used = {}
        for name, curve in curves.items():
            index = fixed
            if self.best_threshold_per_metric and name != 'Top1Loc':
                index = int(curve.argmax())
            metrics[name] = float(curve[index])
            used[name] = float(self.thresholds[index])
        metrics['cam_threshold'] = float(self.thresholds[fixed])
        self._log(metrics, used, acc_v1)
        return metrics

    def _log(self, metrics: dict, used: dict, acc_v1: np.ndarray) -> None:
        logger = MMLogger.get_current_instance()
        if self.protocol == 'moana':
            others = ('at their best threshold on this split'
                      if self.best_threshold_per_metric else
                      'at it too (fixed-threshold variant)')
            logger.info('WSOL protocol: MoANA (tester.py): Top-1 Loc at the '
                        f'fixed threshold, GT-known and Top-k Loc {others}.')
        elif self.cam_threshold is None:
            logger.info(
                'WSOL cam_threshold=None: the localization accuracies use '
                'the best MaxBoxAcc threshold of this split '
                f'({metrics["cam_threshold"]:.3f}), an oracle; set '
                'cam_threshold to a threshold chosen on a validation split '
                'for standard Top-k Loc numbers.')
        lines = [
            f'{name}: {metrics[name]:.2f} (loc error {100 - metrics[name]:.2f}'
            f', threshold {t:.3f})' for name, t in used.items()
        ]
        best = [
            f'{d}: {self.thresholds[c.argmax()]:.3f}'
            for d, c in zip(self.iou_thresholds, acc_v1)
        ]
        logger.info('WSOL localization\n' + '\n'.join(lines) +
                    '\nbest largest-contour threshold per IoU '
                    f'({", ".join(best)})')
