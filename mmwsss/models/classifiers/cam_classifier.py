# Copyright (c) mmwsss contributors. All rights reserved.
"""Image classifier that produces class activation maps (CAMs)."""
from typing import Callable, List, Optional, Sequence

import torch
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..utils.cam import merge_multiscale_cams


def ground_truth_cam_keys(
        sample: DataSample,
        purpose: str = 'CAMs are computed for its ground-truth classes'
) -> torch.Tensor:
    """The classes whose CAMs an image gets: its ``gt_label``, flattened.

    Args:
        sample (DataSample): With ``gt_label``.
        purpose (str): Why the classes are needed, for the error raised when
            the label set is empty.

    Returns:
        Tensor: The (K, ) int64 class indices, K >= 1.
    """
    keys = sample.gt_label.long().flatten()
    if keys.numel() == 0:
        raise ValueError(
            f'Image {sample.metainfo.get("img_path", "?")} has an empty '
            f'label set; {purpose}')
    return keys


def predict_each_image(
    inputs: Sequence[Sequence[torch.Tensor]],
    data_samples: Optional[List[DataSample]],
    predict_one: Callable[[Sequence[torch.Tensor], DataSample], DataSample],
    to_host: Callable[[DataSample], DataSample] = DataSample.cpu,
    missing_samples_message: str = ('CAM inference needs data samples with '
                                    'gt_label (the classes to keep)')
) -> List[DataSample]:
    """CAM prediction of a multi-scale batch, image by image.

    Every image is computed on the device first; the results are moved to
    the host only then, so that the device is not made to wait between
    images.

    Args:
        inputs (list[list[Tensor]]): Per image, its normalised scales.
        data_samples (list[DataSample], optional): The images' samples.
        predict_one (Callable): ``(scales, sample) -> sample`` of one image,
            left on the device.
        to_host (Callable): Moves one predicted sample to the CPU. Defaults
            to ``DataSample.cpu``.
        missing_samples_message (str): The error when ``data_samples`` is
            None.

    Returns:
        list[DataSample]: The predicted samples, on the CPU.
    """
    if data_samples is None:
        raise ValueError(missing_samples_message)
    samples = [
        predict_one(scales, sample)
        for scales, sample in zip(inputs, data_samples)
    ]
    return [to_host(sample) for sample in samples]


@MODELS.register_module()
class CAMClassifier(ImageClassifier):
    """An mmpretrain :class:`ImageClassifier` with CAM inference.

    Training and ordinary prediction are those of ``ImageClassifier``
    (backbone -> optional neck -> head); the head must provide
    ``forward_cams(feats)`` (raw class maps) and ``fill_prediction``, as
    :class:`mmwsss.CAMHead` does.

    When the inputs are multi-scale (see :class:`MultiScaleResize` and
    :class:`CAMDataPreprocessor`), ``predict`` computes CAMs as the IRN
    reference ``make_cam``: at every scale the image and its horizontal flip
    go through the network in one batch; the per-scale CAM is
    ReLU(raw) of the image plus the flipped-back ReLU(raw) of the flip; the
    scales are merged by :func:`mmwsss.functional.merge_multiscale_cams` into
    the stride-4 (``cam_strided``) and full-resolution (``cam_high_res``) maps
    of the ground-truth classes (``cam_keys``), each divided by its maximum
    + 1e-5. ``pred_score`` comes from the unflipped image at the first scale.
    Subclasses override :meth:`predict_cams` (one image, on the device);
    ``predict`` moves the batch's predictions to the CPU once, at the end.

    Args:
        backbone (dict): Backbone config (e.g. an mmpretrain ``ResNet``
            with ``strides=(1, 2, 2, 1)`` for output stride 16).
        head (dict): Head config, e.g. ``dict(type='mmwsss.CAMHead', ...)``.
        neck (dict, optional): Neck config (e.g. ``mmwsss.MoANA``).
        data_preprocessor (dict, optional): Defaults to
            ``dict(type='mmwsss.CAMDataPreprocessor')``.
        **kwargs: Other arguments of ``ImageClassifier``.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 **kwargs):
        data_preprocessor = dict(data_preprocessor or {})
        data_preprocessor.setdefault('type', 'mmwsss.CAMDataPreprocessor')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            **kwargs)

    def raw_cams(self, inputs: torch.Tensor) -> torch.Tensor:
        """Raw class maps (B, num_classes, h, w) of a batch of images."""
        return self.head.forward_cams(self.extract_feat(inputs))

    def predict(self,
                inputs,
                data_samples: Optional[List[DataSample]] = None,
                **kwargs) -> List[DataSample]:
        """Predict scores, or CAMs when the inputs are multi-scale.

        Args:
            inputs (Tensor | list[list[Tensor]]): A batch tensor, or per image
                the list of its normalised (3, h_s, w_s) scales.
            data_samples (list[DataSample], optional): Samples; for CAMs they
                need ``gt_label`` and ``ori_shape``.

        Returns:
            list[DataSample]: Predictions.
        """
        if isinstance(inputs, torch.Tensor):
            return super().predict(inputs, data_samples, **kwargs)
        return predict_each_image(inputs, data_samples, self.predict_cams)

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """Multi-scale + flip CAMs of one image (see the class docstring)."""
        keys = ground_truth_cam_keys(sample)
        raw_maps = [
            self.raw_cams(torch.stack([img, img.flip(-1)])) for img in scales
        ]
        image_size = tuple(sample.ori_shape)
        strided, high_res = merge_multiscale_cams(raw_maps, image_size, keys)
        logits = raw_maps[0][0].mean(dim=(1, 2))
        self.head.fill_prediction(sample, self.head.scores(logits[None])[0])
        sample.cam_keys = keys
        sample.cam_strided = strided
        sample.cam_high_res = high_res
        return sample
