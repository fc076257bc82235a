# Copyright (c) mmwsss contributors. All rights reserved.
"""Converters from the datasets' distributed formats to the layouts the
configs read; the command lines are in ``tools/dataset_converters/``."""
from .common import ConversionOutputs
from .cams import export_cams, import_cams, read_wsol_class_labels
from .coco import coco_semantic_label, convert_coco14_wsss
from .ilsvrc import (box_xml, convert_ilsvrc_wsol, devkit_synsets,
                     read_kaggle_boxes)
from .voc import (convert_voc_aug, convert_voc_instances, read_sbd_mask,
                  voc_instance_annotations)

__all__ = [
    'ConversionOutputs', 'coco_semantic_label', 'convert_coco14_wsss',
    'convert_voc_aug', 'convert_voc_instances', 'read_sbd_mask',
    'voc_instance_annotations', 'box_xml', 'convert_ilsvrc_wsol',
    'devkit_synsets', 'read_kaggle_boxes', 'export_cams', 'import_cams',
    'read_wsol_class_labels'
]
