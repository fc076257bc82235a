# Copyright (c) mmwsss contributors. All rights reserved.
"""Host transfers of tensors that may live on any device."""
from typing import Any, Optional

import numpy as np
import torch


def to_numpy(value: Any, dtype: Optional[np.dtype] = None) -> np.ndarray:
    """A NumPy array of ``value``, wherever it lives.

    Tensors are detached and moved to the CPU first (a CUDA tensor refuses
    ``.numpy()``); bfloat16, which NumPy lacks, becomes float32. Anything
    else goes through ``np.asarray``. Call it once per batch or item, never
    inside a per-iteration loop: every call on a device tensor waits for the
    device.

    Args:
        value: A tensor, array, or array-like.
        dtype (np.dtype, optional): Cast to this type (no copy if it
            already is).

    Returns:
        np.ndarray: The array.
    """
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.dtype == torch.bfloat16:
            value = value.float()
        value = value.cpu().numpy()
    array = np.asarray(value)
    return array if dtype is None else array.astype(dtype, copy=False)
