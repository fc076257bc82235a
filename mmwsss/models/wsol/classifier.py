# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM classifier whose predictions carry WSOL score maps."""
from typing import List, Optional, Sequence

import torch
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from mmwsss.structures import normalize_scoremap
from mmwsss.utils.tensor import to_numpy
from ..classifiers.cam_classifier import CAMClassifier


@MODELS.register_module()
class WSOLClassifier(CAMClassifier):
    """A :class:`CAMClassifier` for single-label WSOL evaluation.

    On a batch tensor, ``predict`` runs the backbone once; the head gives
    the logits, hence ``pred_score`` / ``pred_label``, and the raw map of a
    class for each image (``class_maps(feats, labels)``: for
    :class:`mmwsss.CAMHead` its classifier's map, bias included; ACoL's
    head erases the class it maps), turned into the score maps read by
    :class:`mmwsss.WSOLMetric`:

    - ``cam_gt``: map of the ground-truth class (the GT-known setting of
      wsolevaluation), when the sample has a ``gt_label``;
    - ``cam_top1``: map of the best-scored class.

    Each is made by :func:`mmwsss.evaluation.functional.normalize_scoremap`:
    bicubic resize (float64) to ``cam_size`` and min-max normalisation to
    [0, 1] (wsolevaluation), or MoANA's percentile normalisation with
    ``cam_percentile=65``. Both normalisations ignore a constant offset and a
    positive scale, so the head's bias and wsolevaluation's 1 / C factor do
    not matter. Maps are float64 (H, W) CPU tensors: the protocol's uint8
    truncation is then exact. Multi-scale inputs keep the behaviour of
    :class:`CAMClassifier`.

    Args:
        backbone (dict): Backbone config.
        head (dict): Head config, e.g. ``dict(type='mmwsss.CAMHead',
            multi_label=False, ...)``.
        cam_size (Sequence[int], optional): Score-map size (H, W). Defaults
            to None: the input size (224 x 224 after ``WSOLResize``).
        cam_percentile (float, optional): Subtract this percentile instead of
            the min (MoANA: 65). Defaults to None (min-max).
        **kwargs: Other arguments of :class:`CAMClassifier`.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 cam_size: Optional[Sequence[int]] = None,
                 cam_percentile: Optional[float] = None,
                 **kwargs):
        super().__init__(backbone=backbone, head=head, **kwargs)
        self.cam_size = None if cam_size is None else tuple(cam_size)
        self.cam_percentile = cam_percentile

    def score_map(self, raw_cam, size: Sequence[int]) -> torch.Tensor:
        """Normalised float64 (H, W) score map of one raw (h, w) CAM
        (array or tensor)."""
        return torch.from_numpy(
            normalize_scoremap(raw_cam, size, self.cam_percentile))

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores and the GT-class / top-1 score maps.

        Args:
            inputs (Tensor | list[list[Tensor]]): A (B, 3, H, W) batch, or
                multi-scale inputs (see :class:`CAMClassifier`).
            data_samples (list[DataSample], optional): Samples with
                ``gt_label`` (one class) for ``cam_gt``.

        Returns:
            list[DataSample]: With ``pred_score``, ``pred_label``,
            ``cam_top1``, the ``cam_percentile`` metainfo and, given a label,
            ``cam_gt``.
        """
        if not isinstance(inputs, torch.Tensor):
            return super().predict(inputs, data_samples, **kwargs)
        feats = self.extract_feat(inputs)
        scores = self.head.scores(self.head(feats))
        size = self.cam_size or tuple(inputs.shape[-2:])
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.size(0))]
        # The maps of the top-1 and GT classes are made on the device; the
        # protocol's normalisation runs on the host, one transfer per batch.
        top1_maps = to_numpy(
            self.head.class_maps(feats, scores.argmax(1)).float())
        labelled = [i for i, s in enumerate(data_samples) if 'gt_label' in s]
        for i in labelled:
            if data_samples[i].gt_label.numel() != 1:
                raise ValueError(
                    'WSOL expects one GT label per image, got '
                    f'{data_samples[i].gt_label.tolist()} for '
                    f'{data_samples[i].metainfo.get("img_path", "an image")}')
        gt_maps = None
        if labelled:
            gt_labels = torch.cat([
                data_samples[i].gt_label.flatten() for i in labelled
            ]).long().to(scores.device)
            gt_maps = to_numpy(
                self.head.class_maps(tuple(f[labelled] for f in feats),
                                     gt_labels).float())
        scores = scores.cpu()
        for i, sample in enumerate(data_samples):
            self.head.fill_prediction(sample, scores[i])
            # lets WSOLMetric check the protocol's normalisation
            sample.set_metainfo(dict(cam_percentile=self.cam_percentile))
            sample.cam_top1 = self.score_map(top1_maps[i], size)
        for row, i in enumerate(labelled):
            data_samples[i].cam_gt = self.score_map(gt_maps[row], size)
        return [sample.cpu() for sample in data_samples]
