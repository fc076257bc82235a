# Copyright (c) mmwsss contributors. All rights reserved.
"""Datasets and transforms of mmwsss."""
from .ir_label_dataset import IRLabelDataset
from .transforms import *  # noqa: F401,F403
from .voc_wsss import VOC_CLASSES, VOC_PALETTE, VOCWSSSDataset
from .wsol import CUBWSOLDataset, ImageNetWSOLDataset, WSOLMetadataDataset

__all__ = [
    'VOC_CLASSES', 'VOC_PALETTE', 'VOCWSSSDataset', 'IRLabelDataset',
    'CUBWSOLDataset', 'ImageNetWSOLDataset', 'WSOLMetadataDataset'
]
