# Copyright (c) mmwsss contributors. All rights reserved.
"""Catch host-transfer bugs on a CPU: tensors that convert to NumPy only
after ``.cpu()``, as CUDA tensors do.

On a GPU, ``tensor.numpy()`` and ``np.asarray(tensor)`` raise unless the
tensor was moved to the host first; on a CPU both work, so such bugs pass
every CPU test and fail every batch on the first GPU. Inside
:func:`device_like_inputs`, whatever a data preprocessor moves "to the
device" becomes a :class:`DeviceLikeTensor`, and so does everything computed
from it, so a test stage run on the CPU fails exactly where it would fail on
a GPU.
"""
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement


class HostTransferError(TypeError):
    """A device-like tensor was converted to NumPy without ``.cpu()``."""


def _to_cpu_call(func, args, kwargs) -> bool:
    if func is torch.Tensor.cpu:
        return True
    if func is not torch.Tensor.to:
        return False
    try:
        device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
    except Exception:  # e.g. .to(other_tensor): let torch decide
        return False
    return device is not None and device.type == 'cpu'


# Operations that make the host wait for a CUDA device.
_SYNCING = {
    torch.Tensor.item: 'item', torch.Tensor.tolist: 'tolist',
    torch.Tensor.__bool__: 'bool', torch.Tensor.__int__: 'int',
    torch.Tensor.__float__: 'float', torch.Tensor.__index__: 'index',
    torch.Tensor.nonzero: 'nonzero', torch.nonzero: 'nonzero',
    torch.Tensor.unique: 'unique', torch.unique: 'unique',
    torch.Tensor.masked_select: 'masked_select',
    torch.masked_select: 'masked_select',
}
_sync_log: Optional[List[str]] = None


def _is_bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index, )
    return any(
        isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


def _sync_name(func, args) -> Optional[str]:
    if func in _SYNCING:
        return _SYNCING[func]
    if func is torch.Tensor.__getitem__ and _is_bool_index(args[1]):
        return 'boolean index'
    return None


class DeviceLikeTensor(torch.Tensor):
    """A CPU tensor that behaves like a device tensor for host transfers.

    ``.numpy()`` and ``__array__`` (``np.asarray``, ``np.array``, PIL, ...)
    raise :class:`HostTransferError`; ``.cpu()`` and ``.to('cpu')`` return a
    plain tensor; every other operation returns a ``DeviceLikeTensor``
    (through ``__torch_function__``), so the property follows the data
    through a model. Scalar reads (``.item()``, ``.tolist()``, ``float()``)
    work, as on a GPU, and are counted by :func:`count_host_syncs`.
    """

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if _sync_log is not None:
            name = 'cpu' if _to_cpu_call(func, args, kwargs) else _sync_name(
                func, args)
            if name is not None:
                _sync_log.append(name)
        if _to_cpu_call(func, args, kwargs):
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs).as_subclass(torch.Tensor)
        return super().__torch_function__(func, types, args, kwargs)

    def numpy(self, *args, **kwargs):
        raise HostTransferError(
            "can't convert a device tensor to numpy: use .cpu() first "
            f'(a {tuple(self.shape)} {self.dtype} tensor that would live on '
            'the GPU)')

    def __array__(self, *args, **kwargs):
        return self.numpy()

    def __reduce_ex__(self, protocol):
        # Pickled (e.g. gathered between ranks) as what it is on the CPU.
        return self.cpu().__reduce_ex__(protocol)


def as_device_like(value: Any) -> Any:
    """``value`` with every tensor (also inside data elements, dicts and
    sequences) made a :class:`DeviceLikeTensor`."""
    if isinstance(value, DeviceLikeTensor):
        return value
    if isinstance(value, torch.Tensor):
        return value.as_subclass(DeviceLikeTensor)
    if isinstance(value, BaseDataElement):
        element = value.new()
        for key, field in value.items():
            element.set_field(as_device_like(field), key)
        return element
    if isinstance(value, dict):
        return {key: as_device_like(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, '_fields'):
        return type(value)(as_device_like(item) for item in value)
    return value


@contextmanager
def device_like_inputs() -> Iterator[None]:
    """Run models as if their inputs lived on a GPU, on the CPU.

    Patches :meth:`mmengine.model.BaseDataPreprocessor.cast_data` (which
    every mmengine, mmpretrain, mmdet and mmseg data preprocessor uses to
    move a batch to the model's device) so that the tensors and data
    elements it returns are :class:`DeviceLikeTensor`. Use it around a
    ``Runner.test()`` or ``model.test_step`` call::

        with device_like_inputs():
            runner.test()
    """
    original = BaseDataPreprocessor.cast_data

    def cast_data(self, data):
        cast = original(self, data)
        if isinstance(data, (torch.Tensor, BaseDataElement)):
            return as_device_like(cast)
        return cast

    BaseDataPreprocessor.cast_data = cast_data
    try:
        yield
    finally:
        BaseDataPreprocessor.cast_data = original


@contextmanager
def count_host_syncs() -> Iterator[Dict[str, Any]]:
    """Record the operations on :class:`DeviceLikeTensor` that would make
    the host wait for a GPU.

    Counted: ``.item()``, ``.tolist()``, ``bool()`` / ``int()`` /
    ``float()`` / ``__index__``, ``.cpu()`` / ``.to('cpu')``, ``nonzero``,
    ``unique``, ``masked_select`` and boolean-mask indexing. Use it to check
    that a hot loop does not sync per iteration::

        with count_host_syncs() as syncs:
            run(x.as_subclass(DeviceLikeTensor), iterations=10)
        assert syncs['count'] <= 2

    Yields:
        dict: ``count`` and ``ops`` (the operation names in call order),
        filled when the block exits.
    """
    global _sync_log
    outer, _sync_log = _sync_log, []
    result: Dict[str, Any] = dict(count=0, ops=[])
    try:
        yield result
    finally:
        result['ops'] = _sync_log
        result['count'] = len(_sync_log)
        if outer is not None:
            outer.extend(_sync_log)
        _sync_log = outer
