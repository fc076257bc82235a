# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer evaluators: one output file per item, atomic and resumable."""
from .base_writer import BaseWriter, file_sha256, sample_name
from .cam_writer import CAMWriter
from .label_map_writer import (IRLabelWriter, LabelMapWriter,
                               PseudoMaskWriter, save_label_png)

__all__ = [
    'BaseWriter', 'CAMWriter', 'file_sha256', 'sample_name', 'IRLabelWriter',
    'LabelMapWriter', 'PseudoMaskWriter', 'save_label_png'
]
