# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM classifier whose CAM inference is AdvCAM's adversarial climbing."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..classifiers.cam_classifier import CAMClassifier, ground_truth_cam_keys
from ..utils import frozen_parameters
from .functional import advcam_multiscale_cams


@MODELS.register_module()
class AdvCAMClassifier(CAMClassifier):
    """A :class:`CAMClassifier` whose multi-scale CAMs are AdvCAM maps.

    `Anti-Adversarially Manipulated Attributions for Weakly and
    Semi-Supervised Semantic Segmentation <https://arxiv.org/abs/2103.08896>`_
    (CVPR 2021). Training and ordinary prediction are those of
    :class:`CAMClassifier`, so the checkpoint of any CAM classifier config
    loads unchanged; only multi-scale ``predict`` (``tools/test.py`` with the
    CAM pipeline) differs. Per scale, the image + flip pair of every
    ground-truth class is manipulated by adversarial climbing
    (:func:`mmwsss.functional.adversarial_climbing`: ``adv_iter`` steps,
    fewer at scale 0.5, see :func:`mmwsss.functional.advcam_scale_schedule`)
    and the attribution maps of the steps are summed; the scales are then
    merged as IRN's ``make_cam`` into ``cam_strided`` / ``cam_high_res`` of
    the classes ``cam_keys``, the output of :class:`CAMClassifier`, so the
    same :class:`mmwsss.CAMWriter` files, seed metric and IRN stages follow.

    The first step runs the image + flip pair once for all classes; later
    steps batch the classes and both copies (in chunks of
    ``max_classes_per_batch`` classes; the result does not depend on the
    chunking). Gradients are enabled inside the test loop's
    ``no_grad`` and only the input gradient is computed; the parameters
    are frozen during the climb and restored afterwards. The network must
    treat samples independently (BatchNorm in eval mode, as in the test
    loop), and ``head.forward_cams(feats)`` must depend on ``feats[-1]``
    only (the Grad-CAM features of the reference, its ``stage4``).

    The per-image scales are read from the metainfo ``cam_scales`` set by
    :class:`mmwsss.MultiScaleResize`.

    Args:
        adv_iter (int): Adversarial steps T of the full scales (the maps of
            ``x_0 .. x_{T-1}`` are summed). Defaults to 27.
        ad_coeff (float): Weight lambda of the masked L1 drift.
            Defaults to 7.0.
        step_size (float): Step xi on the max-normalised gradient.
            Defaults to 0.08.
        score_th (float): Threshold tau of the restricting mask.
            Defaults to 0.5.
        one_backward (bool): Use the closed form of the reference's Grad-CAM
            map (:func:`mmwsss.functional.advcam_analytic_regions`): one
            forward and one backward per step. It needs a bias-free 1x1
            convolution ``head.classifier``. False runs the reference's
            second backward for the Grad-CAM weights
            (:func:`mmwsss.functional.advcam_gradcam_regions`); both give the
            same maps up to float rounding. Defaults to True.
        compensate_half_scale (bool): Weight the scale-0.5 maps x2 only
            (the evident intent) instead of the reference's x2 everywhere.
            Defaults to False.
        max_classes_per_batch (int, optional): From the second step on,
            climb the classes of an image in chunks of at most this many
            (each a batch of twice as many samples), e.g. to bound memory at
            large scales. Defaults to None: all classes at once on a GPU,
            one class at a time on a CPU, where larger batches only add
            memory traffic (``benchmarks/advcam.py``).
        suppress_other_classes (bool): Subtract the scores of all other
            classes in the climbing objective (the method). False ascends
            the target score alone; with ``ad_coeff=0`` too this is the
            climbing "without regularization" of dissertation Fig. 3.7.
            Defaults to True.
        *args, **kwargs: Arguments of :class:`CAMClassifier` (``backbone``,
            ``head``, e.g. ``dict(type='mmwsss.CAMHead', ...)``, ``neck``,
            ``data_preprocessor``, ...).
    """

    def __init__(self,
                 *args,
                 adv_iter: int = 27,
                 ad_coeff: float = 7.0,
                 step_size: float = 0.08,
                 score_th: float = 0.5,
                 one_backward: bool = True,
                 compensate_half_scale: bool = False,
                 max_classes_per_batch: Optional[int] = None,
                 suppress_other_classes: bool = True,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if adv_iter < 1:
            raise ValueError(f'adv_iter must be >= 1, got {adv_iter}')
        if max_classes_per_batch is not None and max_classes_per_batch < 1:
            raise ValueError('max_classes_per_batch must be None or >= 1')
        if not isinstance(suppress_other_classes, bool):
            raise TypeError('suppress_other_classes must be a bool, got '
                            f'{suppress_other_classes!r}')
        classifier = getattr(self.head, 'classifier', None)
        if one_backward and not (isinstance(classifier, nn.Conv2d)
                                 and classifier.kernel_size == (1, 1)
                                 and classifier.bias is None):
            raise ValueError(
                'one_backward=True needs a head whose `classifier` is a '
                'bias-free 1x1 nn.Conv2d producing the CAMs; use '
                'one_backward=False (Grad-CAM with a second backward)')
        self.adv_iter = adv_iter
        self.ad_coeff = ad_coeff
        self.step_size = step_size
        self.score_th = score_th
        self.one_backward = one_backward
        self.compensate_half_scale = compensate_half_scale
        self.max_classes_per_batch = max_classes_per_batch
        self.suppress_other_classes = suppress_other_classes

    def _raw_cams_and_features(
            self, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw class maps and the classifier's input features."""
        feats = self.extract_feat(inputs)
        return self.head.forward_cams(feats), feats[-1]

    def _classes_per_batch(self, inputs: torch.Tensor) -> Optional[int]:
        """``max_classes_per_batch``, or its device-dependent default."""
        if self.max_classes_per_batch is None and inputs.device.type == 'cpu':
            return 1
        return self.max_classes_per_batch

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores, or AdvCAM CAMs when the inputs are multi-scale.

        Every image of the batch is climbed on the model's device; what the
        samples hand on (``pred_score``, ``pred_label``, ``cam_keys``,
        ``cam_strided``, ``cam_high_res``) reaches the CPU after the whole
        batch was computed, so the device is not waited for between images.

        Args:
            inputs (Tensor | list[list[Tensor]]): A batch tensor, or per image
                the list of its normalised (3, h_s, w_s) scales.
            data_samples (list[DataSample], optional): Samples; for CAMs they
                need ``gt_label``, ``ori_shape`` and ``cam_scales``.

        Returns:
            list[DataSample]: Predictions, on the CPU for CAMs.
        """
        if isinstance(inputs, torch.Tensor) or data_samples is None:
            return super().predict(inputs, data_samples, **kwargs)
        outputs = [
            self._advcam_outputs(scales, sample)
            for scales, sample in zip(inputs, data_samples)
        ]
        keys, strided, high_res, scores = zip(*outputs)
        scores = torch.stack(scores).cpu()
        for index, sample in enumerate(data_samples):
            # fill_prediction's thresholding runs on the host copy
            self.head.fill_prediction(sample, scores[index])
            sample.cam_keys = keys[index].cpu()
            sample.cam_strided = strided[index].cpu()
            sample.cam_high_res = high_res[index].cpu()
        return list(data_samples)

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """AdvCAM multi-scale + flip CAMs of one image.

        Args:
            scales (Sequence[Tensor]): The normalised (3, h_s, w_s) image at
                every scale of ``sample.cam_scales``.
            sample (DataSample): With ``gt_label``, ``ori_shape`` and
                ``cam_scales``.

        Returns:
            DataSample: ``sample`` with ``cam_keys``, ``cam_strided``,
            ``cam_high_res`` and the scores of the unflipped first scale,
            on the CPU.
        """
        return self.predict([scales], [sample])[0]

    def _advcam_outputs(
        self, scales: Sequence[torch.Tensor], sample: DataSample
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One image's ``(keys, strided, high_res, scores)``, on the device.

        ``scores`` are those of the unflipped first scale; see
        :meth:`predict_cams` for the arguments.
        """
        name = sample.metainfo.get('img_path', '?')
        keys = ground_truth_cam_keys(sample,
                                     'AdvCAM climbs the ground-truth classes')
        cam_scales = sample.metainfo.get('cam_scales')
        if cam_scales is None or len(cam_scales) != len(scales):
            raise ValueError(
                f'Image {name}: AdvCAM needs the metainfo `cam_scales` (one '
                f'per input scale, got {cam_scales!r} for {len(scales)} '
                'inputs); put mmwsss.MultiScaleResize in the pipeline')
        if torch.is_inference_mode_enabled():
            raise RuntimeError('AdvCAM needs autograd; run it under '
                               'torch.no_grad(), not torch.inference_mode()')
        pairs = [torch.stack([img, img.flip(-1)]).detach() for img in scales]
        weight = self.head.classifier.weight if self.one_backward else None
        with frozen_parameters(self):
            strided, high_res = advcam_multiscale_cams(
                self._raw_cams_and_features,
                pairs,
                cam_scales,
                tuple(sample.ori_shape),
                keys,
                adv_iter=self.adv_iter,
                ad_coeff=self.ad_coeff,
                step_size=self.step_size,
                score_th=self.score_th,
                classifier_weight=weight,
                compensate_half_scale=self.compensate_half_scale,
                max_classes_per_batch=self._classes_per_batch(pairs[0]),
                suppress_other_classes=self.suppress_other_classes)
        with torch.no_grad():
            logits = self.raw_cams(scales[0][None]).mean(dim=(2, 3))
        return keys, strided, high_res, self.head.scores(logits)[0]
