# Copyright (c) mmwsss contributors. All rights reserved.
"""Helpers shared by the test-suite (tiny datasets, configs, tool runs)."""
from ._utils import (REPO_ROOT, make_tiny_cls_dataset, run_tool,
                     write_tiny_mmpretrain_config)

__all__ = [
    'REPO_ROOT', 'make_tiny_cls_dataset', 'run_tool',
    'write_tiny_mmpretrain_config'
]
