# Copyright (c) mmwsss contributors. All rights reserved.
"""Walk model outputs (data samples, loss dicts) down to their arrays."""
from typing import Any, Iterator, Tuple

import numpy as np
import torch
from mmengine.structures import BaseDataElement

from mmwsss.utils import to_numpy


def output_arrays(value: Any,
                  name: str = '') -> Iterator[Tuple[str, np.ndarray]]:
    """Every tensor (moved to the CPU) or array inside ``value``: data
    elements, dicts, lists and tuples are walked in order, each array named
    by its path (``[0].cam_strided``, ``.loss_cls``)."""
    if isinstance(value, torch.Tensor):
        yield name, to_numpy(value)
    elif isinstance(value, np.ndarray):
        yield name, value
    elif isinstance(value, (BaseDataElement, dict)):
        for key, item in value.items():
            yield from output_arrays(item, f'{name}.{key}')
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from output_arrays(item, f'{name}[{index}]')
