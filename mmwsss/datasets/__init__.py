# Copyright (c) mmwsss contributors. All rights reserved.
"""Datasets and transforms of mmwsss."""
from .box_pseudo_coco import *  # noqa: F401,F403
from .ir_label_dataset import IRLabelDataset
from .ood_dataset import OoDImageDataset
from .pseudo_label_seg import LoadPseudoLabel, PseudoLabelSegDataset
from .semi_supervised_seg import (SemiSupervisedSampler,
                                  SemiSupervisedSegDataset)
from .transforms import *  # noqa: F401,F403
from .validated_boxes import ValidatedCocoDataset, ValidatedVOCDataset
from .voc_wsss import VOC_CLASSES, VOC_PALETTE, VOCWSSSDataset
from .wsol import CUBWSOLDataset, ImageNetWSOLDataset, WSOLMetadataDataset
from .wsol_fgvc import FGVCAircraftWSOLDataset, StanfordDogsWSOLDataset

__all__ = [
    'VOC_CLASSES', 'VOC_PALETTE', 'VOCWSSSDataset', 'IRLabelDataset',
    'PseudoLabelSegDataset', 'LoadPseudoLabel', 'SemiSupervisedSegDataset',
    'SemiSupervisedSampler',
    'CUBWSOLDataset', 'ImageNetWSOLDataset', 'WSOLMetadataDataset',
    'FGVCAircraftWSOLDataset', 'StanfordDogsWSOLDataset',
    'OoDImageDataset', 'ValidatedCocoDataset', 'ValidatedVOCDataset'
]
