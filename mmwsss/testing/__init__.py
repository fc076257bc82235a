# Copyright (c) mmwsss contributors. All rights reserved.
"""Helpers shared by the test-suite (tiny datasets, configs, tool runs, a
CPU stand-in for device tensors, the arrays of model outputs)."""
from ._utils import (REPO_ROOT, free_port, make_tiny_cls_dataset,
                     param_groups_by_name, run_tool,
                     write_tiny_mmpretrain_config)
from .device import (DeviceLikeTensor, HostTransferError, as_device_like,
                     count_host_syncs, device_like_inputs)
from .outputs import output_arrays

__all__ = [
    'REPO_ROOT', 'free_port', 'make_tiny_cls_dataset', 'param_groups_by_name',
    'run_tool',
    'write_tiny_mmpretrain_config', 'DeviceLikeTensor', 'HostTransferError',
    'as_device_like', 'count_host_syncs', 'device_like_inputs',
    'output_arrays'
]
