# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss.models.necks."""
from .attention_baselines import CBAMNeck, ECANeck, SENeck
from .moana import BaseAttentionNeck, MoANA

__all__ = ['BaseAttentionNeck', 'MoANA', 'SENeck', 'CBAMNeck', 'ECANeck']
