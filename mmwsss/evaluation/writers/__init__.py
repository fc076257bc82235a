# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer evaluators: one output file per item, atomic and resumable."""
from mmwsss.fileio import sample_name
from .base_writer import BaseWriter, StaleOutputError, file_sha256
from .bbam_writers import BBAMPseudoMaskWriter, BBAMWriter, read_bbam_file
from .cam_writer import CAMWriter
from .coco_record_writer import CocoRecordWriter
from .instance_mask_writer import (InstancePseudoMaskWriter,
                                   read_instance_file)
from .label_map_writer import (IRLabelWriter, LabelMapWriter,
                               PseudoMaskWriter, save_label_png)

__all__ = [
    'BBAMPseudoMaskWriter', 'BBAMWriter', 'read_bbam_file', 'BaseWriter',
    'StaleOutputError', 'CAMWriter', 'CocoRecordWriter', 'file_sha256', 'sample_name',
    'IRLabelWriter', 'LabelMapWriter', 'PseudoMaskWriter', 'save_label_png',
    'InstancePseudoMaskWriter', 'read_instance_file'
]
