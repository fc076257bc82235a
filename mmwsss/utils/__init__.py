# Copyright (c) mmwsss contributors. All rights reserved.
"""Utilities: environment set-up, safe checkpoint loading, atomic file IO."""
from .setup_env import register_all_modules

__all__ = ['register_all_modules']
