# Copyright (c) mmwsss contributors. All rights reserved.
"""Parameter helpers shared by the inference-time refiners."""
from contextlib import contextmanager
from typing import Iterator

from torch import nn


@contextmanager
def frozen_parameters(module: nn.Module) -> Iterator[None]:
    """Parameters not requiring gradients inside the block, then restored.

    Only the input gradient is needed; frozen parameters keep autograd from
    recording (and keeping alive) what their gradients would need.
    """
    flags = [(p, p.requires_grad) for p in module.parameters()]
    for param, _ in flags:
        param.requires_grad_(False)
    try:
        yield
    finally:
        for param, flag in flags:
            param.requires_grad_(flag)
