# Copyright (c) mmwsss contributors. All rights reserved.
"""Grad-CAM family (the ``grad-cam`` package) for any mmpretrain classifier."""
from functools import partial
from typing import List, Optional, Sequence

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample
from pytorch_grad_cam.base_cam import BaseCAM

from mmwsss.registry import MODELS
from ..classifiers.cam_classifier import predict_each_image
from ..utils import frozen_parameters
from ..utils.cam import merge_multiscale_cams
from .adapter import (build_gradcam, default_target_layer, gradcam_method,
                      raw_gradcam_maps, release_gradcam, resolve_module)


@MODELS.register_module()
class GradCAMClassifier(ImageClassifier):
    """Any mmpretrain :class:`ImageClassifier` with Grad-CAM-family CAMs.

    Training and ordinary prediction are those of ``ImageClassifier`` and
    the submodules keep its names (``backbone``, ``neck``, ``head``), so the
    checkpoint of the classifier config loads unchanged: in a config, set
    ``model.type='mmwsss.GradCAMClassifier'`` and the method options.

    With multi-scale inputs (:class:`mmwsss.MultiScaleResize` and
    :class:`mmwsss.CAMDataPreprocessor`, as for :class:`mmwsss.CAMClassifier`),
    ``predict`` runs a method of the `grad-cam
    <https://github.com/jacobgil/pytorch-grad-cam>`_ package (GradCAM,
    GradCAM++, LayerCAM, XGradCAM, ScoreCAM, EigenCAM) for every
    ground-truth class (or the ``topk`` predicted classes of an image without
    labels), on the image and its horizontal flip at every scale: one
    forward of the image and its flip per scale, then for a gradient method
    one backward per class from its logit down to the target layer, so the
    memory does not grow with the number of classes. The unnormalised maps
    (before ``grad-cam``'s per-image min-max scaling, see
    :func:`raw_gradcam_maps`) take the place of the raw CAMs in
    :func:`mmwsss.functional.merge_multiscale_cams`: ReLU, the flip added
    back, the scales summed at stride 4 and at full resolution, each class
    map divided by its max + 1e-5. The outputs are those of
    :class:`mmwsss.CAMClassifier` (``cam_keys``, ``cam_strided``,
    ``cam_high_res``, scores of the unflipped first scale), so
    :class:`mmwsss.CAMWriter`, :class:`mmwsss.CAMSeedMetric` and the IRN
    stages follow unchanged.

    Notes: the maps are not rescaled per scale, so a scale weighs by its raw
    magnitude (for Grad-CAM on a global-average-pooled head the gradient
    weights carry a factor 1 / (h w), which lowers the larger scales
    relative to CAM); EigenCAM does not depend on the class; ScoreCAM costs
    one forward per channel of the target layer, image and flip (shared by
    the classes).

    Gradients are enabled inside the test loop's ``no_grad``; the
    parameters are frozen meanwhile (only activation gradients are needed),
    so autograd records the model from the target layer on only.

    The maps are computed on the model's device (EigenCAM and
    ``eigen_smooth`` excepted: their SVD runs on the host, once per image
    and scale, see :func:`raw_gradcam_maps`); the outputs of a batch move
    to the CPU together, after the last image.

    Args:
        backbone (dict): Backbone config.
        head (dict): Head config; ``head(feats)`` must return logits.
        neck (dict, optional): Neck config. Defaults to None.
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='mmwsss.CAMDataPreprocessor')``; an mmpretrain
            ``ClsDataPreprocessor`` becomes one (same arguments).
        method (str): ``'gradcam'``, ``'gradcampp'`` (or ``'gradcam++'``),
            ``'layercam'``, ``'xgradcam'``, ``'scorecam'`` or ``'eigencam'``.
            Defaults to ``'gradcam'``.
        target_layer (str, optional): Module path of the target layer, e.g.
            ``'backbone.layer4'`` or ``'backbone.layers.11.ln1'``. Defaults to
            None (:func:`default_target_layer`).
        num_extra_tokens (int, optional): Class/distillation tokens before
            the patch tokens of a ViT-like target layer. Defaults to None
            (the backbone's ``num_extra_tokens``, else 0).
        eigen_smooth (bool): ``grad-cam``'s first-principal-component
            smoothing. Defaults to False.
        topk (int): Classes of an image without labels. Defaults to 1.
        max_batch (int, optional): The most images in one forward pass:
            the image and its flip go together when it is >= 2, and
            ScoreCAM scores its masked images (one per channel of the
            target layer) this many at a time. Lower it to lower the peak
            memory; the maps do not depend on it. None: no bound on the
            image pairs, ScoreCAM's masked images 16 at a time (as in
            ``grad-cam``). Defaults to 16.
        **kwargs: Other arguments of ``ImageClassifier``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 method: str = 'gradcam',
                 target_layer: Optional[str] = None,
                 num_extra_tokens: Optional[int] = None,
                 eigen_smooth: bool = False,
                 topk: int = 1,
                 max_batch: Optional[int] = 16,
                 **kwargs):
        data_preprocessor = dict(data_preprocessor or {})
        if data_preprocessor.get('type', 'ClsDataPreprocessor') in (
                'ClsDataPreprocessor', 'mmpretrain.ClsDataPreprocessor'):
            data_preprocessor['type'] = 'mmwsss.CAMDataPreprocessor'
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            **kwargs)
        gradcam_method(method)
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if max_batch is not None and max_batch < 1:
            raise ValueError(f'max_batch must be >= 1, got {max_batch}')
        self.method = method.lower()
        self.target_layer = target_layer or default_target_layer(self)
        resolve_module(self, self.target_layer)
        self.num_extra_tokens = num_extra_tokens
        self.eigen_smooth = eigen_smooth
        self.topk = topk
        self.max_batch = max_batch

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores, or Grad-CAM maps when the inputs are multi-scale,
        as :meth:`mmwsss.CAMClassifier.predict`; for Grad-CAM maps the
        samples need ``ori_shape`` and may have ``gt_label``."""
        if isinstance(inputs, torch.Tensor):
            return super().predict(inputs, data_samples, **kwargs)
        cam = build_gradcam(self, self.method, [self.target_layer],
                            self.num_extra_tokens)
        # raw_gradcam_maps keeps the activations on the device itself;
        # grad-cam's hooks would copy each to the host.
        cam.activations_and_grads.release()
        try:
            with frozen_parameters(self):
                return predict_each_image(
                    inputs,
                    data_samples,
                    partial(self.predict_cams, cam),
                    missing_samples_message=(
                        'Grad-CAM inference needs data samples (ori_shape, '
                        'and gt_label for the classes)'))
        finally:
            release_gradcam(cam)

    def predict_cams(self, cam: BaseCAM, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """Multi-scale + flip Grad-CAM maps of one image.

        Args:
            cam (BaseCAM): From :func:`build_gradcam`.
            scales (Sequence[Tensor]): The normalised (3, h_s, w_s) image at
                every scale.
            sample (DataSample): With ``ori_shape``, optionally ``gt_label``.

        Returns:
            DataSample: ``sample`` with ``cam_keys``, ``cam_strided``,
            ``cam_high_res``, ``pred_score`` and ``pred_label``, on the
            device of the inputs.
        """
        with torch.no_grad():
            self.head.predict(self.extract_feat(scales[0][None]), [sample])
        keys = sample.get('gt_label')
        if keys is None or keys.numel() == 0:
            keys = sample.pred_score.topk(
                min(self.topk, sample.pred_score.numel())).indices
        keys = keys.long().flatten()
        raw_maps = [
            raw_gradcam_maps(cam, torch.stack([img, img.flip(-1)]),
                             keys.expand(2, -1), self.eigen_smooth,
                             self.max_batch) for img in scales
        ]
        strided, high_res = merge_multiscale_cams(raw_maps,
                                                  tuple(sample.ori_shape))
        sample.cam_keys = keys
        sample.cam_strided = strided
        sample.cam_high_res = high_res
        return sample
