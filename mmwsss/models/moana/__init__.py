# Copyright (c) mmwsss contributors. All rights reserved.
"""MoANA / RFGA triple-view attention neck and the SE / CBAM / ECA necks it
is compared with."""
from .attention_baselines import CBAMNeck, ECANeck, SENeck
from .neck import BaseAttentionNeck, MoANA

__all__ = ['BaseAttentionNeck', 'MoANA', 'SENeck', 'CBAMNeck', 'ECANeck']
