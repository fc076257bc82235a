# Copyright (c) mmwsss contributors. All rights reserved.
"""CCT's segmentation head: PSP encoder part, main and perturbed decoders."""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import MessageHub
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.psp_head import PPM
from mmseg.models.utils import resize
from torch import Tensor, nn

from mmwsss.registry import MODELS
from mmwsss.utils import to_numpy
from .functional import (cct_consistency_loss, cct_rampup_weight,
                         context_masking, feature_dropout, feature_noise,
                         foreground_mask, guided_cutout_mask, object_masking,
                         vat_perturbation)

#: The perturbations of CCT, in the order their decoders are built.
PERTURBATIONS = ('vat', 'dropout', 'guided_cutout', 'context_masking',
                 'object_masking', 'feature_dropout', 'feature_noise')
#: How many auxiliary decoders CCT gives each perturbation (K = 30).
CCT_DECODERS = dict(
    vat=2,
    dropout=6,
    guided_cutout=6,
    context_masking=2,
    object_masking=2,
    feature_dropout=6,
    feature_noise=6)


class UpsamplingDecoder(nn.Module):
    """CCT's decoder: class scores upsampled by sub-pixel convolutions.

    A 1x1 convolution maps the features to the classes, then each of the
    ``log2(upscale)`` steps doubles the resolution with a 1x1 convolution to
    4x the channels, a ReLU and a pixel shuffle. The CCT release also puts
    the ReLU on the last step, i.e. on the logits (``relu_logits=True``);
    by default the logits pass no ReLU: a class whose logit goes negative
    everywhere then gets no gradient again (on SynthVOC five of the six
    classes died that way, README). The shuffle convolutions
    start with ICNR weights (the four sub-pixels of a channel share one
    kernel, zero bias), so that the upsampled maps start without
    checkerboard.

    Args:
        in_channels (int): Channels of the features.
        num_classes (int): Output channels.
        upscale (int): Power of two by which the output is larger.
        relu_logits (bool): ReLU on the last step too. Defaults to False.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 upscale: int,
                 relu_logits: bool = False):
        super().__init__()
        self.relu_logits = relu_logits
        steps = int(math.log2(upscale))
        if 2**steps != upscale:
            raise ValueError(f'upscale must be a power of 2, got {upscale}')
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        nn.init.kaiming_normal_(self.classifier.weight, nonlinearity='relu')
        self.shuffles = nn.ModuleList()
        for _ in range(steps):
            conv = nn.Conv2d(num_classes, num_classes * 4, 1)
            base = torch.empty(num_classes, num_classes, 1, 1)
            nn.init.kaiming_normal_(base)
            with torch.no_grad():
                # output channel 4c + k feeds sub-pixel k of channel c
                conv.weight.copy_(base.repeat_interleave(4, dim=0))
            nn.init.zeros_(conv.bias)
            self.shuffles.append(conv)

    def forward(self, features: Tensor) -> Tensor:
        """(N, C, H, W) features -> (N, K, H * upscale, W * upscale)."""
        x = self.classifier(features)
        last = len(self.shuffles) - 1
        for step, conv in enumerate(self.shuffles):
            x = conv(x)
            if step < last or self.relu_logits:
                x = F.relu(x)
            x = F.pixel_shuffle(x, 2)
        return x


@MODELS.register_module()
class CCTHead(BaseDecodeHead):
    """Cross-consistency training (CCT) on a segmentation backbone.

    `Semi-Supervised Semantic Segmentation with Cross-Consistency Training
    <https://arxiv.org/abs/2003.09005>`_. The encoder is the backbone plus a
    pyramid pooling module (PSPNet's, with its 3x3 bottleneck to
    ``channels``); its output ``z`` goes to a main decoder and to ``K``
    auxiliary decoders (:class:`UpsamplingDecoder`, ``upscale`` = the
    backbone's output stride), each of which reads ``z`` through its own
    perturbation:

    - ``vat``: ``z`` + the adversarial direction for that decoder
      (:func:`vat_perturbation`, ``vat_xi``, ``vat_eps``);
    - ``dropout``: spatial (channel-wise) dropout, ``dropout_rate``;
    - ``guided_cutout``: a box of ``erase_ratio`` of each predicted
      object's bounding box zeroed (:func:`guided_cutout_mask`, on the
      objects at the resolution of ``z``);
    - ``context_masking`` / ``object_masking``: ``z`` outside / inside the
      main decoder's objects zeroed;
    - ``feature_dropout``: the most activated positions zeroed
      (:func:`feature_dropout`, ``drop_threshold_range``);
    - ``feature_noise``: multiplicative uniform noise (``noise_range``).

    Each sample says how it is supervised in ``metainfo['pixel_labelled']``
    (:class:`mmwsss.SemiSupervisedSegDataset`; ``PackSegInputs`` must list
    the key in ``meta_keys``):

    - pixel-labelled samples: ``loss_decode`` (cross-entropy) of the main
      decoder on ``gt_sem_seg`` (``loss_ce``, ``acc_seg``);
    - the others (CCT's unlabelled / weakly labelled set):
      ``loss_unsup = w(t) * mean_k MSE(softmax(aux_k), softmax(main))``
      with the main prediction as a fixed target, and, when
      ``weak_loss_weight > 0``, CCT's weak-label loss on the auxiliary
      decoders, ``loss_weak = w(t) / unsup_loss_weight * weak_loss_weight *
      mean_k CE(aux_k, gt_sem_seg)``, where ``gt_sem_seg`` holds the
      sample's pseudo-mask (255 ignored).

    ``w(t)`` ramps up to ``unsup_loss_weight`` over the first
    ``rampup_ratio`` of the training iterations (:func:`cct_rampup_weight`;
    the iteration and ``max_iters`` come from mmengine's ``MessageHub``).
    Inference uses the main decoder only. Every batch needs samples of both
    kinds (:class:`mmwsss.SemiSupervisedSampler`) or some decoders get no
    gradient (DDP would need ``find_unused_parameters``).

    Args:
        pool_scales (Sequence[int]): Pyramid pooling scales.
            Defaults to (1, 2, 3, 6).
        upscale (int): Upsampling factor of the decoders. Defaults to 8.
        num_decoders (dict, optional): Auxiliary decoders per perturbation
            (keys of :data:`PERTURBATIONS`; missing keys get none).
            Defaults to CCT's :data:`CCT_DECODERS` (30 decoders).
        dropout_rate (float): Spatial dropout probability. Defaults to 0.5.
        erase_ratio (float): Guided cutout box side relative to the
            object's bounding box. Defaults to 0.4.
        vat_xi (float): VAT finite-difference step. Defaults to 1e-6.
        vat_eps (float): Norm of the VAT perturbation. Defaults to 2.0.
        noise_range (float): Feature noise half-width. Defaults to 0.3.
        drop_threshold_range (tuple[float, float]): Range of the feature
            dropout threshold (times the peak). Defaults to (0.6, 0.9).
        unsup_loss_weight (float): Final weight of the consistency loss.
            Defaults to 30.
        weak_loss_weight (float): Weight of the pseudo-mask loss of the
            auxiliary decoders relative to the ramp; 0 turns it off (plain
            semi-supervised CCT). Defaults to 0.4.
        rampup_ratio (float): Fraction of ``max_iters`` of the ramp-up.
            Defaults to 0.1.
        relu_logits (bool): ReLU on the decoders' logits, as the CCT
            release (see :class:`UpsamplingDecoder`). Defaults to False.
        **kwargs: Arguments of :class:`mmseg.models.BaseDecodeHead`
            (``in_channels``, ``channels`` = the width of ``z``,
            ``num_classes``, ``norm_cfg``, ``loss_decode``, ...).
    """

    def __init__(self,
                 pool_scales: Sequence[int] = (1, 2, 3, 6),
                 upscale: int = 8,
                 num_decoders: Optional[Dict[str, int]] = None,
                 dropout_rate: float = 0.5,
                 erase_ratio: float = 0.4,
                 vat_xi: float = 1e-6,
                 vat_eps: float = 2.0,
                 noise_range: float = 0.3,
                 drop_threshold_range: Tuple[float, float] = (0.6, 0.9),
                 unsup_loss_weight: float = 30.,
                 weak_loss_weight: float = 0.4,
                 rampup_ratio: float = 0.1,
                 relu_logits: bool = False,
                 **kwargs):
        # BaseDecodeHead's dropout before conv_seg is not part of CCT.
        kwargs.setdefault('dropout_ratio', 0.)
        # BaseDecodeHead's default init_cfg targets conv_seg, removed below;
        # the decoders initialise themselves (Kaiming + ICNR).
        kwargs.setdefault('init_cfg', None)
        super().__init__(**kwargs)
        # the decoders classify; BaseDecodeHead's conv_seg would be unused
        del self.conv_seg
        num_decoders = dict(CCT_DECODERS if num_decoders is None else
                            num_decoders)
        unknown = set(num_decoders) - set(PERTURBATIONS)
        if unknown:
            raise ValueError(f'Unknown CCT perturbations {sorted(unknown)}; '
                             f'known: {PERTURBATIONS}')
        self.psp_modules = PPM(
            pool_scales,
            self.in_channels,
            self.channels,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            align_corners=self.align_corners)
        self.bottleneck = ConvModule(
            self.in_channels + len(pool_scales) * self.channels,
            self.channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg)
        self.main_decoder = UpsamplingDecoder(self.channels, self.out_channels,
                                              upscale, relu_logits)
        #: The perturbation of each auxiliary decoder, in order.
        self.perturbations: List[str] = [
            name for name in PERTURBATIONS
            for _ in range(num_decoders.get(name, 0))
        ]
        self.aux_decoders = nn.ModuleList(
            UpsamplingDecoder(self.channels, self.out_channels, upscale,
                              relu_logits) for _ in self.perturbations)
        self.dropout_rate = dropout_rate
        self.erase_ratio = erase_ratio
        self.vat_xi = vat_xi
        self.vat_eps = vat_eps
        self.noise_range = noise_range
        self.drop_threshold_range = tuple(drop_threshold_range)
        self.unsup_loss_weight = unsup_loss_weight
        self.weak_loss_weight = weak_loss_weight
        self.rampup_ratio = rampup_ratio

    def encode(self, inputs: List[Tensor]) -> Tensor:
        """``z``: the backbone feature through the pyramid pooling module."""
        x = self._transform_inputs(inputs)
        pooled = [x] + self.psp_modules(x)
        return self.bottleneck(torch.cat(pooled, dim=1))

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """Main decoder logits (inference)."""
        return self.main_decoder(self.encode(inputs))

    def perturb(self, name: str, features: Tensor, main_logits: Tensor,
                decoder: nn.Module,
                foreground: Optional[np.ndarray] = None) -> Tensor:
        """``z`` as the auxiliary decoder of perturbation ``name`` reads it.

        Args:
            name (str): One of :data:`PERTURBATIONS`.
            features (Tensor): (N, C, H, W) ``z``.
            main_logits (Tensor): (N, K, h, w) detached main prediction.
            decoder (nn.Module): The decoder that reads the result (VAT
                finds the direction that changes its prediction most).
            foreground (np.ndarray, optional): (N, H, W) bool objects of
                the main prediction at the size of ``z``, on the host; guided
                cutout needs it.

        Returns:
            Tensor: The perturbed features.
        """
        if name == 'vat':
            return features + vat_perturbation(features, decoder,
                                               self.vat_xi, self.vat_eps)
        if name == 'dropout':
            return F.dropout2d(features, self.dropout_rate, training=True)
        if name == 'guided_cutout':
            keep = torch.as_tensor(
                guided_cutout_mask(foreground, self.erase_ratio),
                dtype=features.dtype,
                device=features.device)
            return features * keep[:, None]
        if name == 'context_masking':
            return context_masking(features, main_logits)
        if name == 'object_masking':
            return object_masking(features, main_logits)
        if name == 'feature_dropout':
            return feature_dropout(features, self.drop_threshold_range)
        if name == 'feature_noise':
            return feature_noise(features, self.noise_range)
        raise ValueError(f'Unknown CCT perturbation {name!r}')

    def aux_predictions(self, features: Tensor,
                        main_logits: Tensor) -> List[Tensor]:
        """Logits of every auxiliary decoder on its perturbed ``z``."""
        main_logits = main_logits.detach()
        foreground = None
        if 'guided_cutout' in self.perturbations:
            # Objects at the size of z, where the boxes are cut (cut at
            # the logits' size, a box could fall between the positions a
            # nearest downsampling keeps); one transfer per batch, shared by
            # the cutout decoders.
            foreground = to_numpy(
                foreground_mask(main_logits, features.shape[2:])[:, 0] > 0)
        return [
            decoder(self.perturb(name, features, main_logits, decoder,
                                 foreground))
            for name, decoder in zip(self.perturbations, self.aux_decoders)
        ]

    def rampup(self) -> float:
        """``w(t) / unsup_loss_weight`` at the runner's iteration."""
        hub = MessageHub.get_current_instance()
        iteration, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
        if iteration is None or max_iters is None:
            raise RuntimeError(
                'CCTHead ramps its unsupervised loss up over the training '
                "iterations: MessageHub needs 'iter' and 'max_iters' (set by "
                "the runner's RuntimeInfoHook)")
        return cct_rampup_weight(iteration,
                                 int(self.rampup_ratio * max_iters), 1.)

    def _weak_cross_entropy(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Mean cross-entropy over the non-ignored pixels (0 if none)."""
        logits = resize(
            logits,
            size=labels.shape[-2:],
            mode='bilinear',
            align_corners=self.align_corners)
        total = F.cross_entropy(
            logits, labels, ignore_index=self.ignore_index, reduction='sum')
        valid = (labels != self.ignore_index).sum().clamp(min=1)
        return total / valid

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: List,
             train_cfg: dict) -> dict:
        """CCT losses of a batch of pixel-labelled and other samples.

        Args:
            inputs (tuple[Tensor]): Backbone features.
            batch_data_samples (list[SegDataSample]): Samples with
                ``gt_sem_seg`` and ``metainfo['pixel_labelled']``.
            train_cfg (dict): Unused (mmseg's signature).

        Returns:
            dict[str, Tensor]: ``loss_ce`` and ``acc_seg`` (pixel-labelled
            samples), ``loss_unsup`` and ``loss_weak`` (the others).
        """
        flags = []
        for sample in batch_data_samples:
            if 'pixel_labelled' not in sample.metainfo:
                raise KeyError(
                    "CCTHead needs metainfo['pixel_labelled'] (from "
                    'mmwsss.SemiSupervisedSegDataset; add it to the '
                    'meta_keys of PackSegInputs)')
            flags.append(bool(sample.metainfo['pixel_labelled']))
        labelled = [i for i, flag in enumerate(flags) if flag]
        others = [i for i, flag in enumerate(flags) if not flag]
        features = self.encode(inputs)
        main_logits = self.main_decoder(features)
        losses = {}
        if labelled:
            losses.update(
                self.loss_by_feat(main_logits[labelled],
                                  [batch_data_samples[i] for i in labelled]))
        if others:
            aux_logits = self.aux_predictions(features[others],
                                              main_logits[others])
            ramp = self.rampup()
            target = main_logits[others].detach()
            losses['loss_unsup'] = ramp * self.unsup_loss_weight * sum(
                cct_consistency_loss(logits, target)
                for logits in aux_logits) / len(aux_logits)
            if self.weak_loss_weight > 0:
                pseudo = self._stack_batch_gt(
                    [batch_data_samples[i] for i in others])[:, 0].long()
                losses['loss_weak'] = ramp * self.weak_loss_weight * sum(
                    self._weak_cross_entropy(logits, pseudo)
                    for logits in aux_logits) / len(aux_logits)
        return losses
