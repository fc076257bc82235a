# Copyright (c) mmwsss contributors. All rights reserved.
"""Backbones of mmwsss."""
from .attn_conformer import AttnConformer

__all__ = ['AttnConformer']
