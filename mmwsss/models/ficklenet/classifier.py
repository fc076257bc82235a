# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM classifier with FickleNet stochastic inference (many draws, one map)."""
import os.path as osp
import zlib
from typing import List, Optional, Sequence, Tuple

import torch
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..classifiers.cam_classifier import CAMClassifier, ground_truth_cam_keys
from ..utils.cam import merge_multiscale_cams
from .functional import aggregate_cam_draws


@MODELS.register_module()
class FickleNetClassifier(CAMClassifier):
    """:class:`CAMClassifier` that aggregates many stochastic CAMs.

    FickleNet (dissertation §3.2.1): the head selects hidden units at random
    per sliding-window position at training and at inference (e.g.
    :class:`mmwsss.FickleNetCAMHead`; its ``forward_cams`` must accept
    ``generator`` and ``num_draws``). Per image, the backbone runs once per
    scale (image and flip in one batch, as :class:`CAMClassifier`); then
    ``num_draws`` dropout draws of the head are taken, ``draw_chunk`` per
    head call and scale (the head's ``draws_per_batch`` bounds how many of
    them it computes at once). Every draw is merged over scales and flips
    like a plain CAM (:func:`mmwsss.functional.merge_multiscale_cams`:
    stride-4 and full-resolution maps of the ground-truth classes, each
    divided by its max + 1e-5) and folded into a running aggregate on the
    device, so memory does not grow with ``num_draws``: ``'max'`` (a pixel
    keeps its highest score of any draw, i.e. the union of the draws'
    regions at every threshold; exactly
    :func:`mmwsss.functional.aggregate_cam_draws` of the stacked draws) or
    ``'mean'`` (a running sum; the stacked mean up to float rounding). The
    outputs (``cam_keys``, ``cam_strided``, ``cam_high_res``) are those of
    :class:`CAMClassifier`, so :class:`mmwsss.CAMWriter`,
    :class:`mmwsss.CAMSeedMetric` and the IRNet stage work unchanged;
    ``pred_score`` is the score of the draws' mean logits of the unflipped
    image at the first scale. ``predict`` computes the maps of all images
    of a batch before moving the outputs to the CPU, so the host waits for
    the device once per batch.

    The masks of an image come from a generator seeded by ``seed`` and the
    image id, so its maps do not depend on the order of the images or the
    number of processes: killed-and-resumed and distributed jobs write the
    same files.

    Args:
        num_draws (int): Number N of stochastic maps per image. Defaults to
            32 (a cost choice: 4 scales x 2 flips x N head passes; the
            backbone runs once).
        aggregation (str): ``'max'`` or ``'mean'``. Defaults to ``'max'``.
        draw_chunk (int): Draws per head call and scale: the masks of a
            chunk are drawn together, scale after scale, so this sets the
            order of the random stream (changing it changes the maps; the
            head's ``draws_per_batch`` bounds the memory). Defaults to 16.
        seed (int): Base seed of the masks. Defaults to 0.
        generator_device (str, optional): Device of the mask generator.
            None (default): the inputs' device (CUDA's random stream
            differs from the CPU's, so GPU and CPU jobs draw different
            masks). ``'cpu'``: masks drawn on the CPU and copied to the
            device, so every device draws the same masks (maps equal up to
            float rounding), at the cost of a host-to-device copy per chunk
            and scale.
        **kwargs: Arguments of :class:`CAMClassifier`.
    """

    def __init__(self,
                 num_draws: int = 32,
                 aggregation: str = 'max',
                 draw_chunk: int = 16,
                 seed: int = 0,
                 generator_device: Optional[str] = None,
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
        self.generator_device = generator_device

    def _generator(self, sample: DataSample,
                   device: torch.device) -> torch.Generator:
        image_key = sample.metainfo.get('img_id') or osp.splitext(
            osp.basename(sample.metainfo.get('img_path', '')))[0]
        generator = torch.Generator(device=self.generator_device or device)
        # the seed is the CRC's start value (torch keeps 32 seed bits)
        generator.manual_seed(
            zlib.crc32(str(image_key).encode(), self.seed & 0xFFFFFFFF))
        return generator

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores, or FickleNet CAMs when the inputs are multi-scale
        (see :meth:`CAMClassifier.predict`); the CAMs of all images are
        computed before any output is moved to the CPU."""
        if isinstance(inputs, torch.Tensor) or data_samples is None:
            return super().predict(inputs, data_samples, **kwargs)
        drawn = [
            self.draw_cams(scales, sample)
            for scales, sample in zip(inputs, data_samples)
        ]
        return [
            self._fill_sample(sample, *outputs)
            for sample, outputs in zip(data_samples, drawn)
        ]

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """Aggregated FickleNet CAMs of one image, on the CPU (see the class
        docstring)."""
        return self._fill_sample(sample, *self.draw_cams(scales, sample))

    def draw_cams(self, scales: Sequence[torch.Tensor],
                  sample: DataSample) -> Tuple[torch.Tensor, ...]:
        """Aggregated FickleNet CAMs of one image, on the device.

        Args:
            scales (Sequence[Tensor]): The normalised (3, h_s, w_s) scales.
            sample (DataSample): With ``gt_label``, ``ori_shape`` and the
                image id (``img_id`` or ``img_path``) that seeds the masks.

        Returns:
            tuple[Tensor]: ``score`` (num_classes, ), ``keys`` (K, ),
            ``strided`` (K, (H-1)//4+1, (W-1)//4+1) and ``high_res``
            (K, H, W), on the inputs' device.
        """
        keys = ground_truth_cam_keys(sample)
        image_size = tuple(sample.ori_shape)
        feats = [
            self.extract_feat(torch.stack([img, img.flip(-1)]))
            for img in scales
        ]
        generator = self._generator(sample, scales[0].device)
        # labels come on the CPU: indexing device maps with them would copy
        # them, and wait, at every use
        device_keys = keys.to(scales[0].device, non_blocking=True)
        strided = high_res = None
        logits = 0
        for start in range(0, self.num_draws, self.draw_chunk):
            n = min(self.draw_chunk, self.num_draws - start)
            # (n * 2, num_classes, h, w) per scale: draw-major, then image /
            # flip
            raw = [
                self.head.forward_cams(
                    feat, generator=generator,
                    num_draws=n).unflatten(0, (n, 2)) for feat in feats
            ]
            logits = logits + raw[0][:, 0].mean(dim=(2, 3)).sum(dim=0)
            # the ground-truth classes, selected once per chunk and scale
            raw = [r[:, :, device_keys] for r in raw]
            for d in range(n):
                draw_strided, draw_high_res = merge_multiscale_cams(
                    [r[d] for r in raw], image_size)
                strided = self._accumulate(strided, draw_strided)
                high_res = self._accumulate(high_res, draw_high_res)
        score = self.head.scores((logits / self.num_draws)[None])[0]
        return (score, keys, self._aggregate(strided),
                self._aggregate(high_res))

    def _accumulate(self, running: Optional[torch.Tensor],
                    cams: torch.Tensor) -> torch.Tensor:
        if running is None:
            return cams
        if self.aggregation == 'max':
            return torch.maximum(running, cams)
        return running + cams

    def _aggregate(self, running: torch.Tensor) -> torch.Tensor:
        if self.aggregation == 'max':
            return running
        # the mean's renormalisation, as for stacked draws
        return aggregate_cam_draws(running[None] / self.num_draws, 'mean')

    def _fill_sample(self, sample: DataSample, score: torch.Tensor,
                     keys: torch.Tensor, strided: torch.Tensor,
                     high_res: torch.Tensor) -> DataSample:
        """Move an image's outputs to the CPU and set them on ``sample``."""
        self.head.fill_prediction(sample, score.cpu())
        sample.cam_keys = keys.cpu()
        sample.cam_strided = strided.cpu()
        sample.cam_high_res = high_res.cpu()
        return sample
