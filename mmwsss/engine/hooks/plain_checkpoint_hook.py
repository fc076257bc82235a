# Copyright (c) mmwsss contributors. All rights reserved.
"""Save checkpoints that ``torch.load(weights_only=True)`` reads back.

The loading side (allow-list, weights-only loader) is in
:mod:`mmwsss.utils.checkpoint`.
"""
from collections import OrderedDict

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmwsss.registry import HOOKS
from mmwsss.utils.checkpoint import to_plain_python
from mmwsss.utils.config import type_name


class _HistoryBufferReduction:
    """Pickles as ``HistoryBuffer(log_history, count_history, max_length)``.

    ``HistoryBuffer.__getstate__`` also stores the class-level statistics
    methods, which pickle through ``builtins.getattr``: a global that must
    never be allow-listed, it reaches any attribute of any object. Those
    methods are restored by importing their modules anyway, so only the
    data is kept, as plain lists.

    Args:
        buffer (HistoryBuffer): The buffer to save.
    """

    def __init__(self, buffer: HistoryBuffer):
        log_history, count_history = buffer.data
        self.args = (log_history.tolist(), count_history.tolist(),
                     buffer.max_length)

    def __reduce__(self):
        return HistoryBuffer, self.args


@HOOKS.register_module()
class PlainCheckpointHook(Hook):
    """Make saved checkpoints loadable with ``weights_only=True``.

    Before a checkpoint is written, numpy scalars and arrays in its ``meta``
    and in the message hub's ``runtime_info`` are converted into plain Python
    values, and the message hub's ``HistoryBuffer`` log scalars are stored as
    a call of the (allow-listed) ``HistoryBuffer`` class on plain lists. The
    running message hub is not touched: the checkpoint holds copies.

    The hook runs with the lowest priority so that it also cleans what other
    hooks add in their ``before_save_checkpoint``. ``tools/train.py`` adds it
    to ``custom_hooks`` automatically (see :func:`add_plain_checkpoint_hook`).
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Convert the checkpoint in place.

        Args:
            runner (Runner): The runner of the training process.
            checkpoint (dict): The checkpoint about to be saved.
        """
        if 'meta' in checkpoint:
            checkpoint['meta'] = to_plain_python(checkpoint['meta'])
        message_hub = checkpoint.get('message_hub')
        if not isinstance(message_hub, dict):
            return
        if 'runtime_info' in message_hub:
            message_hub['runtime_info'] = to_plain_python(
                message_hub['runtime_info'])
        if 'log_scalars' in message_hub:
            message_hub['log_scalars'] = OrderedDict(
                (key, _HistoryBufferReduction(value) if isinstance(
                    value, HistoryBuffer) else value)
                for key, value in message_hub['log_scalars'].items())


def add_plain_checkpoint_hook(cfg: Config) -> None:
    """Append :class:`PlainCheckpointHook` to ``cfg.custom_hooks`` if absent.

    Args:
        cfg (Config): A runner config, modified in place.
    """
    custom_hooks = list(cfg.get('custom_hooks') or [])
    present = any(
        type_name(hook) == 'PlainCheckpointHook' for hook in custom_hooks)
    if not present:
        custom_hooks.append(dict(type='mmwsss.PlainCheckpointHook'))
    cfg.custom_hooks = custom_hooks
