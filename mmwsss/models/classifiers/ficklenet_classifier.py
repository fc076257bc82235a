# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM classifier with FickleNet stochastic inference (many draws, one map)."""
import os.path as osp
import zlib
from typing import Sequence

import torch
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..refiners.ficklenet import aggregate_cam_draws
from ..utils.cam import merge_multiscale_cams
from .cam_classifier import CAMClassifier


@MODELS.register_module()
class FickleNetClassifier(CAMClassifier):
    """:class:`CAMClassifier` that aggregates many stochastic CAMs.

    FickleNet (dissertation §3.2.1): the head selects hidden units at random
    per sliding-window position at training and at inference (e.g.
    :class:`mmwsss.FickleNetCAMHead`; its ``forward_cams`` must accept
    ``generator`` and ``num_draws``). Per image, the backbone runs once per
    scale (image and flip in one batch, as :class:`CAMClassifier`); then
    ``num_draws`` dropout draws of the head are taken, ``draw_chunk`` at a
    time in one batch. Every draw is merged over scales and flips like a
    plain CAM (:func:`mmwsss.functional.merge_multiscale_cams`: stride-4 and
    full-resolution maps of the ground-truth classes, each divided by its
    max + 1e-5), and the draws are aggregated by
    :func:`mmwsss.functional.aggregate_cam_draws` (``'max'``: a pixel keeps
    its highest score of any draw, i.e. the union of the draws' regions at
    every threshold). The outputs (``cam_keys``, ``cam_strided``,
    ``cam_high_res``) are those of :class:`CAMClassifier`, so
    :class:`mmwsss.CAMWriter`, :class:`mmwsss.CAMSeedMetric` and the IRNet
    stage work unchanged; ``pred_score`` is the score of the draws' mean
    logits of the unflipped image at the first scale.

    The masks of an image come from a generator seeded by ``seed`` and the
    image id, so its maps do not depend on the order of the images or the
    number of processes: killed-and-resumed and distributed jobs write the
    same files.

    Args:
        num_draws (int): Number N of stochastic maps per image. Defaults to
            32 (a cost choice: 4 scales x 2 flips x N head passes; the
            backbone runs once).
        aggregation (str): ``'max'`` or ``'mean'``. Defaults to ``'max'``.
        draw_chunk (int): Draws computed in one batch. Defaults to 16.
        seed (int): Base seed of the masks. Defaults to 0.
        **kwargs: Arguments of :class:`CAMClassifier`.
    """

    def __init__(self,
                 num_draws: int = 32,
                 aggregation: str = 'max',
                 draw_chunk: int = 16,
                 seed: int = 0,
                 **kwargs):
        super().__init__(**kwargs)
        if num_draws < 1 or draw_chunk < 1:
            raise ValueError('num_draws and draw_chunk must be >= 1')
        if aggregation not in ('max', 'mean'):
            raise ValueError("aggregation must be 'max' or 'mean', got "
                             f'{aggregation!r}')
        self.num_draws = num_draws
        self.aggregation = aggregation
        self.draw_chunk = draw_chunk
        self.seed = seed

    def _generator(self, sample: DataSample,
                   device: torch.device) -> torch.Generator:
        image_key = sample.metainfo.get('img_id') or osp.splitext(
            osp.basename(sample.metainfo.get('img_path', '')))[0]
        generator = torch.Generator(device=device)
        # the seed is the CRC's start value (torch keeps 32 seed bits)
        generator.manual_seed(
            zlib.crc32(str(image_key).encode(), self.seed & 0xFFFFFFFF))
        return generator

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """Aggregated FickleNet CAMs of one image (see the class
        docstring)."""
        keys = sample.gt_label.long().flatten()
        if keys.numel() == 0:
            raise ValueError(
                f'Image {sample.metainfo.get("img_path", "?")} has an empty '
                'label set; CAMs are computed for its ground-truth classes')
        image_size = tuple(sample.ori_shape)
        feats = [
            self.extract_feat(torch.stack([img, img.flip(-1)]))
            for img in scales
        ]
        generator = self._generator(sample, scales[0].device)
        strided, high_res, logits = [], [], 0
        for start in range(0, self.num_draws, self.draw_chunk):
            n = min(self.draw_chunk, self.num_draws - start)
            # (n * 2, K, h, w) per scale: draw-major, then image / flip
            raw = [
                self.head.forward_cams(
                    feat, generator=generator,
                    num_draws=n).unflatten(0, (n, 2)) for feat in feats
            ]
            logits = logits + raw[0][:, 0].mean(dim=(2, 3)).sum(dim=0)
            for d in range(n):
                s, h = merge_multiscale_cams([r[d] for r in raw],
                                             image_size, keys.cpu())
                strided.append(s)
                high_res.append(h)
        logits = logits / self.num_draws
        self.head.fill_prediction(sample, self.head.scores(logits[None])[0])
        sample.cam_keys = keys.cpu()
        sample.cam_strided = aggregate_cam_draws(
            torch.stack(strided), self.aggregation).cpu()
        sample.cam_high_res = aggregate_cam_draws(
            torch.stack(high_res), self.aggregation).cpu()
        return sample
