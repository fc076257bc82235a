# Copyright (c) mmwsss contributors. All rights reserved.
"""Weights-only checkpoint saving/loading (mmwsss.utils.checkpoint)."""
import os
import os.path as osp
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader, load_checkpoint

from mmwsss.registry import HOOKS
from mmwsss.utils import (PlainCheckpointHook, add_plain_checkpoint_hook,
                          load_from_local_weights_only, safe_torch_load,
                          to_plain_python)


class _RunsShellCommand:
    """Pickles into ``os.system(command)``, like a malicious checkpoint."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command, )


def _runner_like_checkpoint(hub_name: str) -> dict:
    """A checkpoint shaped like mmengine's ``Runner.save_checkpoint``."""
    hub = MessageHub.get_instance(hub_name)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_scalar('train/loss', 0.25)
    hub.update_info('iter', 2)
    hub.update_info('best_score', np.float64(0.75))
    hub.update_info('keep_ckpt_ids', np.array([1, 2]))
    meta = dict(
        epoch=0,
        iter=np.int64(2),
        seed=np.int64(0),
        dataset_meta=dict(
            classes=('a', 'b'), palette=np.array([[0, 0, 0], [255, 0, 0]])),
        hook_msgs=dict(best_score=np.float32(0.5), flag=np.bool_(True)))
    return dict(
        meta=meta,
        state_dict=OrderedDict(weight=torch.ones(2, 2)),
        message_hub=hub.state_dict())


def test_to_plain_python():
    tensor = torch.zeros(2)
    plain = to_plain_python(
        dict(
            a=np.float32(1.5),
            b=[np.int64(3), (np.bool_(False), np.arange(3))],
            c=OrderedDict(d=np.array([[1.0], [2.0]])),
            t=tensor,
            s='x'))
    assert plain == dict(
        a=1.5,
        b=[3, (False, [0, 1, 2])],
        c=OrderedDict(d=[[1.0], [2.0]]),
        t=tensor,
        s='x')
    assert type(plain['a']) is float and type(plain['b'][0]) is int
    assert type(plain['c']) is OrderedDict and plain['t'] is tensor


def test_hook_makes_runner_checkpoint_weights_only_loadable(tmp_path):
    checkpoint = _runner_like_checkpoint('test_checkpoint_hook')
    raw = tmp_path / 'raw.pth'
    torch.save(checkpoint, raw)
    # What mmengine saves needs numpy internals and builtins.getattr.
    with pytest.raises(RuntimeError, match='builtins.getattr') as error:
        safe_torch_load(raw)
    assert 'numpy._core.multiarray.scalar' in str(error.value)

    PlainCheckpointHook().before_save_checkpoint(None, checkpoint)
    path = tmp_path / 'plain.pth'
    torch.save(checkpoint, path)
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    loaded = safe_torch_load(path)

    assert loaded['meta']['iter'] == 2 and type(loaded['meta']['iter']) is int
    assert loaded['meta']['dataset_meta']['palette'] == [[0, 0, 0],
                                                         [255, 0, 0]]
    assert loaded['meta']['hook_msgs'] == dict(best_score=0.5, flag=True)
    info = loaded['message_hub']['runtime_info']
    assert info['best_score'] == 0.75 and info['keep_ckpt_ids'] == [1, 2]
    # The log scalars stay HistoryBuffers, resumable by the message hub.
    loss = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    np.testing.assert_allclose(loss.data[0], [0.5, 0.25])
    np.testing.assert_allclose(loss.data[1], [1, 1])
    assert loss.max_length == 1000000
    hub = MessageHub.get_instance('test_checkpoint_hook_resumed')
    hub.load_state_dict(loaded['message_hub'])
    assert hub.get_scalar('train/loss').current() == 0.25
    assert torch.equal(loaded['state_dict']['weight'], torch.ones(2, 2))


def test_hook_is_registered_and_added_once():
    assert HOOKS.get('PlainCheckpointHook') is PlainCheckpointHook
    assert PlainCheckpointHook.priority == 'LOWEST'
    cfg = Config(dict(custom_hooks=[dict(type='EMAHook')]))
    add_plain_checkpoint_hook(cfg)
    add_plain_checkpoint_hook(cfg)
    assert [hook['type'] for hook in cfg.custom_hooks
            ] == ['EMAHook', 'mmwsss.PlainCheckpointHook']
    cfg = Config(dict(custom_hooks=[dict(type='PlainCheckpointHook')]))
    add_plain_checkpoint_hook(cfg)
    assert len(cfg.custom_hooks) == 1
    cfg = Config(dict())
    add_plain_checkpoint_hook(cfg)
    assert len(cfg.custom_hooks) == 1


def test_local_loader_is_installed_and_weights_only_stays_on():
    assert CheckpointLoader._get_checkpoint_loader(
        '/some/dir/epoch_1.pth') is load_from_local_weights_only
    assert HistoryBuffer in torch.serialization.get_safe_globals()
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


@pytest.mark.parametrize('writer', ['torch.save', 'pickle.dump'])
def test_malicious_checkpoint_is_refused(tmp_path, writer):
    marker = tmp_path / 'pwned'
    payload = dict(
        state_dict=OrderedDict(weight=torch.ones(1)),
        meta=_RunsShellCommand(f'touch {marker}'))
    path = tmp_path / 'evil.pth'
    if writer == 'torch.save':
        torch.save(payload, path)
    else:
        with open(path, 'wb') as file:
            pickle.dump(payload, file)

    # Through mmengine, as load_from / resume / init_cfg do.
    with pytest.raises(RuntimeError) as error:
        load_checkpoint(torch.nn.Linear(1, 1), str(path))
    message = str(error.value)
    assert message.startswith(f'Refused to load checkpoint "{path}"')
    assert 'execute arbitrary code' in message
    assert 'posix.system' in message
    assert not marker.exists()
    # torch's own default is still weights_only=True.
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()


def test_missing_checkpoint_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        safe_torch_load(tmp_path / 'absent.pth')


@pytest.mark.parametrize('wrapped', [False, True])
def test_load_from_plain_and_torchvision_state_dicts(tmp_path, wrapped):
    torch.manual_seed(0)
    source = torchvision.models.resnet18(num_classes=3)
    state_dict = source.state_dict()
    path = osp.join(tmp_path, 'resnet18.pth')
    torch.save(dict(state_dict=state_dict) if wrapped else state_dict, path)

    target = torchvision.models.resnet18(num_classes=3)
    load_checkpoint(target, path, strict=True)
    for name, value in target.state_dict().items():
        assert torch.equal(value, state_dict[name]), name
