# Copyright (c) mmwsss contributors. All rights reserved.
"""Metrics of mmwsss."""
from .box_pseudo_mask_metric import BoxPseudoMaskMetric
from .cam_seed_metric import CAMSeedMetric
from .instance_mask_metric import InstancePseudoMaskMetric
from .label_map_metrics import IRLabelMetric, PseudoMaskMetric
from .wsol_metric import WSOLMetric

__all__ = [
    'BoxPseudoMaskMetric', 'CAMSeedMetric', 'IRLabelMetric',
    'PseudoMaskMetric', 'WSOLMetric', 'InstancePseudoMaskMetric'
]
