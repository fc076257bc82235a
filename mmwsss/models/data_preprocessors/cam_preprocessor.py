# Copyright (c) mmwsss contributors. All rights reserved.
"""Data preprocessor that also handles multi-scale CAM inputs."""
from typing import List

import torch
from mmpretrain.models.utils.data_preprocessor import ClsDataPreprocessor

from mmwsss.registry import MODELS
from ..utils.cam import per_image_scales


@MODELS.register_module()
class CAMDataPreprocessor(ClsDataPreprocessor):
    """:class:`ClsDataPreprocessor` that also accepts multi-scale inputs.

    For training and ordinary prediction it behaves exactly like its parent.
    When ``inputs`` is nested per-scale images (packed by
    :class:`PackCAMInputs` after :class:`MultiScaleResize`), it is arranged
    per image (a loader delivers ``[scale][image]``, see
    :func:`~mmwsss.models.utils.cam.per_image_scales`), each image is
    normalised on its own and the nesting is kept: scales differ in size and
    must not be padded, or the CAMs would see the padding.
    """

    def _normalize(self, img: torch.Tensor) -> torch.Tensor:
        if self.to_rgb and img.size(0) == 3:
            img = img.flip(0)
        img = img.float()
        if self._enable_normalize:
            img = (img - self.mean) / self.std
        return img

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise the inputs and move them, with labels, to the device.

        Args:
            data (dict): ``inputs`` and ``data_samples`` from the loader.
            training (bool): Whether this is a training step.

        Returns:
            dict: ``inputs`` (a batch tensor, or a list over images of lists
            over scales) and ``data_samples``.
        """
        inputs = data['inputs']
        if not (isinstance(inputs, (list, tuple)) and inputs
                and isinstance(inputs[0], (list, tuple))):
            return super().forward(data, training)
        if data.get('data_samples') is None:
            raise ValueError('Multi-scale CAM inputs need their data samples '
                             '(ori_shape and cam_scales)')
        inputs = per_image_scales(inputs, data['data_samples'])
        # Labels (and one-hot scores) are set by the parent on the first
        # scale; its padded batch tensor is not needed.
        out = super().forward(
            dict(
                inputs=[scales[0] for scales in inputs],
                data_samples=data.get('data_samples')), training)
        multi_scale: List[List[torch.Tensor]] = [[
            self._normalize(self.cast_data(img)) for img in scales
        ] for scales in inputs]
        return dict(inputs=multi_scale, data_samples=out['data_samples'])
