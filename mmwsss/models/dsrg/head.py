# Copyright (c) mmwsss contributors. All rights reserved.
"""DeepLab-v2 head trained by DSRG, and the segmentor that feeds it images."""
from typing import List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmseg.models.segmentors import EncoderDecoder
from mmseg.utils import add_prefix
from torch import Tensor

from mmwsss.registry import MODELS
from mmwsss.utils import to_numpy
from ..decode_heads import ASPPv2Head
from .functional import (balanced_seed_loss, constrain_loss, dsrg_crf_log,
                         dsrg_grow_batch, dsrg_softmax)

# Seed maps mark unseeded pixels with this value, as mmseg's ignore index.
NO_SEED = 255


@MODELS.register_module()
class DSRGHead(ASPPv2Head):
    """ASPP-v2 head trained with deep seeded region growing (DSRG).

    `Weakly-Supervised Semantic Segmentation Network with Deep Seeded Region
    Growing <https://arxiv.org/abs/1804.04882>`_. The ground truth of a
    sample (``gt_sem_seg``) is its *seed* map (0 = background, ``k`` =
    class ``k``, 255 = unseeded), e.g. from
    :class:`mmwsss.DSRGSeedsFromCAM`. At each step, on the score map:

    1. ``P`` = softmax + 1e-4, renormalised;
    2. ``Q`` = dense CRF of ``P`` on the image (:func:`dsrg_crf_refine`);
    3. the seeds grow into the confident 8-connected regions of ``Q``
       (:func:`dsrg_region_growing`, thresholds ``th1`` / ``th2``);
    4. loss = balanced seed loss of ``P`` on the grown seeds + constrain loss
       between ``P`` and ``Q`` (its gradient also passes the CRF as
       ``(1 - Q) * grad``, as in the reference).

    Steps 2 and 3 run on the host, one transfer per batch. The image
    classes (background included) come from the sample's
    ``metainfo['gt_label']`` (0-based foreground classes, packed by
    ``PackSegInputs`` with ``meta_keys`` containing ``'gt_label'``) or else
    from the classes present in its seed map. Inference is that of
    :class:`mmwsss.ASPPv2Head`. Use it with :class:`mmwsss.DSRGEncoderDecoder`,
    which passes the images the CRF needs.

    Args:
        th1 (float): CRF confidence a pixel needs to grow the background.
            Defaults to 0.99.
        th2 (float): CRF confidence a pixel needs to grow a foreground
            class. Defaults to 0.85.
        crf_scale_factor (float): Divides the CRF kernels' spatial stds (80
            and 3 px, designed for full-size VOC images); 12 for a 41x41 score
            map of a 321 crop. Defaults to 12.
        loss_seed_weight (float): Weight of the balanced seed loss.
            Defaults to 1.
        loss_constrain_weight (float): Weight of the constrain loss.
            Defaults to 1.
        **kwargs: Arguments of :class:`mmwsss.ASPPv2Head` (``loss_decode``
            is not used for training).
    """

    def __init__(self,
                 th1: float = 0.99,
                 th2: float = 0.85,
                 crf_scale_factor: float = 12.0,
                 loss_seed_weight: float = 1.0,
                 loss_constrain_weight: float = 1.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.th1 = th1
        self.th2 = th2
        self.crf_scale_factor = crf_scale_factor
        self.loss_seed_weight = loss_seed_weight
        self.loss_constrain_weight = loss_constrain_weight

    def _image_labels(self, batch_data_samples: List,
                      seed_labels: np.ndarray) -> np.ndarray:
        """(N, C) 0/1 image classes, background always included."""
        labels = np.zeros((len(batch_data_samples), self.out_channels),
                          np.uint8)
        labels[:, 0] = 1
        for i, sample in enumerate(batch_data_samples):
            if 'gt_label' in sample.metainfo:
                classes = np.asarray(sample.metainfo['gt_label'], int) + 1
            else:
                classes = np.unique(seed_labels[i])
                classes = classes[classes != NO_SEED]
            labels[i, classes] = 1
        return labels

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: List,
             train_cfg: dict, images: Tensor,
             pixel_mean: Sequence[float]) -> dict:
        """DSRG losses of a batch.

        Args:
            inputs (tuple[Tensor]): Backbone features.
            batch_data_samples (list[SegDataSample]): Samples whose
                ``gt_sem_seg`` holds the seed maps.
            train_cfg (dict): Unused (mmseg's signature).
            images (Tensor): (N, 3, H, W) mean-subtracted input images.
            pixel_mean (Sequence[float]): The mean they lack.

        Returns:
            dict[str, Tensor]: ``loss_seed`` and ``loss_constrain``.
        """
        logits = self.forward(inputs)
        probs = dsrg_softmax(logits)
        seed_labels = self._stack_batch_gt(batch_data_samples).float()
        # One transfer of the seeds per batch.
        seed_labels = to_numpy(
            F.interpolate(seed_labels, size=logits.shape[2:],
                          mode='nearest')[:, 0], np.uint8)
        refined, grown = dsrg_grow_batch(
            self._image_labels(batch_data_samples, seed_labels), seed_labels,
            probs, images, pixel_mean, self.crf_scale_factor, self.th1,
            self.th2)
        refined = torch.as_tensor(
            refined, dtype=probs.dtype, device=probs.device)
        grown = torch.as_tensor(grown, device=probs.device)
        return dict(
            loss_seed=self.loss_seed_weight *
            balanced_seed_loss(probs, grown),
            loss_constrain=self.loss_constrain_weight *
            constrain_loss(probs, dsrg_crf_log(probs, refined)))


@MODELS.register_module()
class DSRGEncoderDecoder(EncoderDecoder):
    """mmseg's ``EncoderDecoder`` whose decode head also gets the images.

    DSRG's head runs a dense CRF on the input image, so :meth:`loss` passes
    the batch (mean-subtracted: the preprocessor's std is undone) and the
    preprocessor's mean to :meth:`DSRGHead.loss`. Inference is unchanged.
    Auxiliary heads are not supported.
    """

    def loss(self, inputs: Tensor, data_samples: List) -> dict:
        """Losses of the DSRG head on a batch of normalised images."""
        if self.with_auxiliary_head:
            raise ValueError('DSRGEncoderDecoder has no auxiliary head')
        preprocessor = self.data_preprocessor
        if getattr(preprocessor, 'mean', None) is None:
            images, mean = inputs, (0., 0., 0.)
        else:
            images = inputs * preprocessor.std
            mean = to_numpy(preprocessor.mean).ravel().tolist()
        features = self.extract_feat(inputs)
        losses = self.decode_head.loss(features, data_samples, self.train_cfg,
                                       images, mean)
        return add_prefix(losses, 'decode')
