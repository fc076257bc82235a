# Copyright (c) mmwsss contributors. All rights reserved.
"""Peak memory of a block of code, for the benchmark scripts.

On a CUDA device: torch's peak allocation. On the CPU (Linux): the peak
resident set size (``VmHWM``, reset on entry), since torch's CPU allocations
are invisible to ``tracemalloc``. On entry glibc returns its free heap to the
system (``malloc_trim``), so that memory an earlier block freed but glibc kept
does not hide this block's allocations; a fresh process per setting is
exact.
"""
import ctypes
import ctypes.util
import resource
from typing import Optional

import torch


def _resident_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _resident_peak_mib() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError('no VmHWM in /proc/self/status')


def _trim_heap() -> None:
    """glibc's ``malloc_trim(0)``; nothing elsewhere."""
    name = ctypes.util.find_library('c')
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):
        pass


class PeakMemory:
    """``with PeakMemory() as peak: ...``, then ``peak.mib``: the peak memory
    of the block above the memory in use when it started.

    Args:
        device (torch.device, optional): A CUDA device to measure instead of
            the process's resident memory. Defaults to None (CPU).
    """

    def __init__(self, device: Optional[torch.device] = None):
        self.device = torch.device(device) if device is not None else None
        self.mib: Optional[float] = None

    @property
    def _cuda(self) -> bool:
        return self.device is not None and self.device.type == 'cuda'

    def __enter__(self) -> 'PeakMemory':
        if self._cuda:
            torch.cuda.synchronize(self.device)
            self._before = torch.cuda.memory_allocated(self.device) / 2**20
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            _trim_heap()
            self._before = _resident_mib()
            # Linux: '5' resets the peak resident set size to the current.
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        return self

    def __exit__(self, *exc) -> None:
        if self._cuda:
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            peak = _resident_peak_mib()
        self.mib = peak - self._before
