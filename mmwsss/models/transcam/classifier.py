# Copyright (c) mmwsss contributors. All rights reserved.
"""TransCAM classifier (Conformer CNN CAM refined by attention) and BNR."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.classifiers import BaseClassifier
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..classifiers.cam_classifier import (ground_truth_cam_keys,
                                          predict_each_image)
from ..utils.cam import strided_size
from .functional import (bnr_refine, normalize_transcam_inference,
                         transcam_cam, transcam_losses)


@MODELS.register_module()
class TransCAMClassifier(BaseClassifier):
    """TransCAM (`Li et al., JVCIR 2023`) with optional BNR (`Fujimori et
    al. 2024 <https://arxiv.org/abs/2404.03394>`_).

    On a Conformer with readable attention (:class:`mmwsss.AttnConformer`),
    two ``1 + num_classes``-way heads as the reference: a 3x3 convolution on
    the last CNN map (conv logits = its spatial mean) and a linear layer on
    the LayerNorm'ed class token. Column 0 is the reference's background
    class, never supervised. The training loss is the multilabel soft margin
    loss of the *summed* conv and transformer logits (``loss_cls``); with
    ``bnr=True`` the TransCAM map (attention summed over layers, not
    detached) is propagated once more with the detached layer-mean attention
    (:func:`mmwsss.functional.bnr_refine`, which fixes two bugs of the
    shipped BNR code) and the multilabel soft margin loss of its global
    average (``loss_bnr``, times ``bnr_loss_weight``) is added.

    Inference on multi-scale inputs (from :class:`CAMDataPreprocessor`,
    ``inputs[image][scale]``) runs each scale and its flip as one batch,
    computes ``cam_method`` maps and fuses them as ``infer_TransCAM.py``
    (:func:`mmwsss.functional.normalize_transcam_inference`: sum of the
    label-masked, resized, flipped-back maps, then per-class min-max),
    once at the original size (``cam_high_res``) and once at the stride-4
    size (``cam_strided``); ``cam_keys`` are the ground-truth classes, as in
    :class:`CAMClassifier`, so :class:`CAMWriter` writes the same files.
    The reference resizes every image to *squares* 256, 512 and 768
    (``test_sizes``); as our pipelines resize by relative scales, with
    ``test_sizes`` set the first input scale (give the original,
    ``MultiScaleResize(scales=(1.0, ))``) is resized here, bicubically with
    antialiasing on the normalised tensor (the reference: PIL bicubic on the
    uint8 image).
    The reference's negative values (pixels zeroed by the normalisation
    end slightly below 0; a class whose fused map is <= 0 everywhere is -1)
    are clamped to 0, which keeps the files in [0, 1] like the other CAMs
    and changes no seed for a background threshold >= 0.

    Args:
        backbone (dict): An :class:`mmwsss.AttnConformer` config.
        num_classes (int): Number of foreground classes.
        cam_method (str): ``'transcam'``, ``'attnagg'``, ``'clsattn'`` or
            ``'convcam'`` (see :func:`mmwsss.functional.transcam_cam`).
            Defaults to ``'transcam'``.
        bnr (bool): Add the BNR loss. Defaults to False.
        bnr_loss_weight (float): Weight of the BNR loss (1 in the paper).
            Defaults to 1.0.
        test_sizes (Sequence[int], optional): Square CAM inference sizes,
            e.g. (256, 512, 768) as the reference; None uses the input
            scales as given. Defaults to None.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='mmwsss.CAMDataPreprocessor')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 cam_method: str = 'transcam',
                 bnr: bool = False,
                 bnr_loss_weight: float = 1.0,
                 test_sizes: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmwsss.CAMDataPreprocessor')
        super().__init__(
            init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.backbone = MODELS.build(backbone)
        if not hasattr(self.backbone, 'forward_attention'):
            raise TypeError('TransCAM needs a backbone with readable '
                            'attention, e.g. mmwsss.AttnConformer.')
        if cam_method not in ('transcam', 'attnagg', 'clsattn', 'convcam'):
            raise ValueError(f'Unknown cam_method {cam_method!r}.')
        self.num_classes = num_classes
        self.cam_method = cam_method
        self.bnr = bnr
        self.bnr_loss_weight = bnr_loss_weight
        self.test_sizes = tuple(test_sizes) if test_sizes else None
        cnn_channels = self.backbone.last_block.fusion_block.conv3.out_channels
        self.conv_head = nn.Conv2d(
            cnn_channels, num_classes + 1, kernel_size=3, padding=1)
        self.trans_head = nn.Linear(self.backbone.embed_dims, num_classes + 1)

    def init_weights(self) -> None:
        """Initialise the backbone, and the heads as Conformer's layers."""
        super().init_weights()
        # Not left to the backbone: under a Pretrained init_cfg it skips
        # Conformer's initialisation, which the new heads always need.
        self.conv_head.apply(self.backbone._init_weights)
        self.trans_head.apply(self.backbone._init_weights)

    def extract_feat(self, inputs: torch.Tensor, with_attention: bool = True):
        """Backbone outputs of :meth:`AttnConformer.forward_attention`."""
        return self.backbone.forward_attention(
            inputs, with_attention=with_attention)

    def _forward_heads(
        self,
        inputs: torch.Tensor,
        with_attention: bool = True
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, Optional[object]]:
        feats = self.extract_feat(inputs, with_attention)
        conv_map = self.conv_head(feats['conv_map'])
        conv_logits = conv_map.mean(dim=(2, 3))
        trans_logits = self.trans_head(feats['cls_token'])
        return conv_map, conv_logits, trans_logits, feats['attention']

    def forward(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'tensor'):
        """``'tensor'``: (conv logits, transformer logits), each
        (B, 1 + num_classes); ``'loss'``: :meth:`loss`; ``'predict'``:
        :meth:`predict`."""
        if mode == 'tensor':
            return self._forward_heads(inputs, with_attention=False)[1:3]
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')

    def _targets(self, data_samples: List[DataSample],
                 device: torch.device) -> torch.Tensor:
        if 'gt_score' in data_samples[0]:
            return torch.stack([s.gt_score for s in data_samples]).to(device)
        target = torch.zeros(
            len(data_samples), self.num_classes, device=device)
        for row, sample in zip(target, data_samples):
            row[sample.gt_label.to(device)] = 1
        return target

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """TransCAM loss ``loss_cls`` and, with BNR, ``loss_bnr``.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) images.
            data_samples (list[DataSample]): With ``gt_label`` or
                ``gt_score``.

        Returns:
            dict[str, torch.Tensor]: The losses.
        """
        conv_map, conv_logits, trans_logits, attention = self._forward_heads(
            inputs, with_attention=self.bnr)
        fine_logits = None
        if self.bnr:
            cams = transcam_cam(attention.total, conv_map, 'transcam')
            fine_logits = bnr_refine(attention.mean, cams).mean(dim=(2, 3))
        losses = transcam_losses(conv_logits, trans_logits,
                                 self._targets(data_samples, inputs.device),
                                 fine_logits)
        if self.bnr:
            losses['loss_bnr'] = losses['loss_bnr'] * self.bnr_loss_weight
        return losses

    @staticmethod
    def _scores(conv_logits: torch.Tensor,
                trans_logits: torch.Tensor) -> torch.Tensor:
        # Sigmoid of the summed foreground logits, (..., 1 + C) -> (..., C).
        return torch.sigmoid((conv_logits + trans_logits)[..., 1:])

    @staticmethod
    def _to_host(sample: DataSample) -> DataSample:
        # What the writers and metrics read, on the CPU; the labels are
        # taken from the host copy of the scores (no device-side nonzero).
        score = sample.pred_score.float().cpu()
        sample.set_pred_score(score).set_pred_label(
            torch.nonzero(score > 0.5).flatten())
        for key in ('cam_keys', 'cam_strided', 'cam_high_res'):
            if key in sample:
                sample.set_field(sample.get(key).cpu(), key)
        return sample

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores (``pred_score`` = sigmoid of the summed foreground
        logits), or CAMs when the inputs are multi-scale, as
        :meth:`mmwsss.CAMClassifier.predict`."""
        if not isinstance(inputs, torch.Tensor):
            return predict_each_image(inputs, data_samples, self.predict_cams,
                                      self._to_host)
        # One host copy for the whole batch.
        scores = self._scores(*self(inputs)).float().cpu()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(inputs.size(0))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score)
        return [self._to_host(sample) for sample in data_samples]

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """Multi-scale + flip CAMs of one image (see the class docstring).

        Everything is computed and left on the inputs' device: ``cam_keys``,
        ``cam_strided``, ``cam_high_res`` and ``pred_score`` (no
        ``pred_label``); :meth:`predict` moves them to the CPU.
        """
        keys = ground_truth_cam_keys(sample)
        label = torch.zeros(self.num_classes, device=keys.device)
        label[keys] = 1
        if self.test_sizes:
            scales = [
                F.interpolate(
                    scales[0][None], (size, size),
                    mode='bicubic',
                    align_corners=False,
                    antialias=True)[0] for size in self.test_sizes
            ]
        maps, flips = [], []
        with_attention = self.cam_method != 'convcam'
        for index, img in enumerate(scales):
            pair = torch.stack([img, img.flip(-1)])
            conv_map, conv_logits, trans_logits, attention = \
                self._forward_heads(pair, with_attention)
            total = attention.total if with_attention else None
            cams = transcam_cam(total, conv_map, self.cam_method).float()
            maps += [cams[0], cams[1]]
            flips += [False, True]
            if index == 0:
                sample.set_pred_score(
                    self._scores(conv_logits[0], trans_logits[0]))
        image_size = tuple(int(s) for s in sample.ori_shape)
        sample.cam_keys = keys
        sample.cam_strided = normalize_transcam_inference(
            maps, flips, strided_size(image_size, 4), label)[keys].clamp(min=0)
        sample.cam_high_res = normalize_transcam_inference(
            maps, flips, image_size, label)[keys].clamp(min=0)
        return sample
