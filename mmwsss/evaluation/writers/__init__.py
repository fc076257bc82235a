# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer evaluators: one output file per item, atomic and resumable."""
from .base_writer import BaseWriter, file_sha256, sample_name
from .bbam_writers import *  # noqa: F401,F403
from .cam_writer import CAMWriter
from .instance_mask_writer import (InstancePseudoMaskWriter,
                                   read_instance_file)
from .label_map_writer import (IRLabelWriter, LabelMapWriter,
                               PseudoMaskWriter, save_label_png)

__all__ = [
    'BBAMPseudoMaskWriter', 'BBAMWriter', 'BoxPseudoMaskMetric',
    'BaseWriter', 'CAMWriter', 'file_sha256', 'sample_name', 'IRLabelWriter',
    'LabelMapWriter', 'PseudoMaskWriter', 'save_label_png',
    'InstancePseudoMaskWriter', 'read_instance_file'
]
