# Copyright (c) mmwsss contributors. All rights reserved.
"""Writers of label maps (IR labels, semantic pseudo-masks) as palette PNGs."""
from typing import Any

import numpy as np
import torch
from mmengine.structures import PixelData

from mmwsss.fileio import read_label_map, write_label_map
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from .base_writer import BaseWriter


def save_label_png(path: str, label: np.ndarray) -> None:
    """Save a (H, W) label map as a VOC palette PNG, atomically
    (:func:`mmwsss.fileio.write_label_map`).

    Args:
        path (str): Destination (``.png``).
        label (np.ndarray): Labels 0..254 and 255 (ignore).
    """
    write_label_map(path, label)


@METRICS.register_module()
class LabelMapWriter(BaseWriter):
    """Store ``pred_sem_seg`` of every image as ``<output_dir>/<id>.png``.

    The PNG has VOC's palette and holds the label indices (0 = background,
    ``k + 1`` = class ``k``, 255 = ignore), so it reads back with
    :func:`mmwsss.fileio.read_label_map` and opens like a VOC
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
        write_label_map(path, label.reshape(label.shape[-2:]))

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
