# Copyright (c) mmwsss contributors. All rights reserved.
"""Writers of label maps (IR labels, semantic pseudo-masks) as palette PNGs."""
from typing import Any

import numpy as np
import torch
from mmengine.structures import PixelData
from PIL import Image

from mmwsss.datasets.synthvoc import voc_palette
from mmwsss.datasets.voc_wsss import read_label_map
from mmwsss.registry import METRICS
from mmwsss.utils.io import atomic_write
from mmwsss.utils.tensor import to_numpy
from .base_writer import BaseWriter

# The colour map of VOC's own label PNGs (255 = (224, 224, 192)).
_PALETTE = voc_palette(256).tobytes()


def save_label_png(path: str, label: np.ndarray) -> None:
    """Save a (H, W) uint8 label map as a VOC palette PNG, atomically.

    Args:
        path (str): Destination (``.png``).
        label (np.ndarray): Labels 0..254 and 255 (ignore).
    """
    img = Image.fromarray(np.ascontiguousarray(label, dtype=np.uint8), 'P')
    img.putpalette(_PALETTE)
    atomic_write(path, lambda f: img.save(f, format='PNG'))


@METRICS.register_module()
class LabelMapWriter(BaseWriter):
    """Store ``pred_sem_seg`` of every image as ``<output_dir>/<id>.png``.

    The PNG has VOC's palette and holds the label indices (0 = background,
    ``k + 1`` = class ``k``, 255 = ignore), so it reads back with
    :func:`mmwsss.datasets.voc_wsss.read_label_map` and opens like a VOC
    ground-truth mask. See :class:`BaseWriter` for atomicity, resume,
    distribution and the manifest.

    Args:
        output_dir (str): Output folder.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    suffix = '.png'
    default_prefix = 'label_map_writer'

    def write_item(self, path: str, sample: dict) -> None:
        """Write the label map of one sample."""
        label = to_numpy(sample['pred_sem_seg']['data'])
        label = label.reshape(label.shape[-2:])
        if label.min() < 0 or label.max() > 255:
            raise ValueError(f'{path}: labels must lie in 0..255, got '
                             f'{label.min()}..{label.max()}')
        save_label_png(path, label)

    def load_output(self, sample: Any) -> Any:
        """Fill ``pred_sem_seg`` of a data sample from its PNG."""
        # Any 0..255 value is accepted: the classes are not checked here.
        label = read_label_map(self.output_path(sample), 254)
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        return sample


@METRICS.register_module()
class IRLabelWriter(LabelMapWriter):
    """Store the IR labels of :class:`mmwsss.IRLabelGenerator` as PNGs.

    ``<output_dir>/<id>.png``: 0 = confident background, ``k + 1`` =
    confident class ``k``, 255 = unknown; the training labels of IRNet
    (:class:`mmwsss.IRLabelDataset` reads this folder).
    """

    default_prefix = 'ir_label_writer'


@METRICS.register_module()
class PseudoMaskWriter(LabelMapWriter):
    """Store the semantic pseudo-masks of :class:`mmwsss.IRNetRandomWalk`.

    ``<output_dir>/<id>.png``: 0 = background, ``k + 1`` = class ``k``;
    the training masks of the segmentation stage.
    """

    default_prefix = 'pseudo_mask_writer'
