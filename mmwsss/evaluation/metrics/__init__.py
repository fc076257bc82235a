# Copyright (c) mmwsss contributors. All rights reserved.
"""Metrics of mmwsss."""
from .cam_seed_metric import CAMSeedMetric

__all__ = ['CAMSeedMetric']
