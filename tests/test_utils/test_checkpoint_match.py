# Copyright (c) mmwsss contributors. All rights reserved.
"""Checkpoints must fit the model (mmwsss.utils.checkpoint.
load_state_dict_checked, mmwsss.utils.launch.CheckedLoadRunner)."""
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from mmwsss.testing import make_tiny_cls_dataset, write_tiny_mmpretrain_config
from mmwsss.utils import FormatOnceConfig
from mmwsss.utils.checkpoint import (CheckpointMismatchError,
                                     load_state_dict_checked)
from mmwsss.utils.launch import CheckedLoadRunner, build_runner


def _net(num_classes: int = 2) -> torch.nn.Module:
    return torch.nn.Sequential(
        OrderedDict(
            conv=torch.nn.Conv2d(3, 4, 1),
            bn=torch.nn.BatchNorm2d(4),
            fc=torch.nn.Linear(4, num_classes)))


def test_a_fitting_checkpoint_loads():
    torch.manual_seed(0)
    source = _net()
    weights = source.state_dict()
    # DDP-saved keys and no num_batches_tracked (older checkpoints).
    checkpoint = dict(
        state_dict=OrderedDict((f'module.{k}', v) for k, v in weights.items()
                               if 'num_batches_tracked' not in k))
    target = _net()
    load_state_dict_checked(target, checkpoint, 'ckpt.pth')
    for name, value in target.state_dict().items():
        if 'num_batches_tracked' not in name:
            assert torch.equal(value, weights[name]), name


def test_other_classes_are_refused():
    with pytest.raises(CheckpointMismatchError) as error:
        load_state_dict_checked(_net(2), _net(5).state_dict(), 'other.pth')
    message = str(error.value)
    assert message.startswith('Checkpoint "other.pth" does not fit the model')
    assert 'size mismatch for fc.weight' in message
    assert 'load_from_strict = False' in message


def test_another_architecture_is_refused():
    detector = OrderedDict([('backbone.conv1.weight', torch.zeros(1)),
                            ('rpn_head.rpn_cls.weight', torch.zeros(1))])
    with pytest.raises(CheckpointMismatchError) as error:
        load_state_dict_checked(_net(), dict(state_dict=detector), 'det.pth')
    message = str(error.value)
    assert '8 weights of the model are not in it: conv.weight' in message
    assert ('2 of its weights are not in the model: backbone.conv1.weight, '
            'rpn_head.rpn_cls.weight') in message


@pytest.mark.parametrize('strict', [True, False])
def test_an_empty_state_dict_is_refused(strict):
    with pytest.raises(CheckpointMismatchError, match='"e.pth" holds no'):
        load_state_dict_checked(
            _net(), dict(state_dict={}, meta={}), 'e.pth', strict=strict)
    # It fits a model without weights (e.g. IRLabelGenerator without its
    # classifier).
    load_state_dict_checked(
        torch.nn.ReLU(), dict(state_dict={}), 'e.pth', strict=strict)


def test_a_partial_load_on_purpose():
    torch.manual_seed(0)
    source = _net(5)
    target = _net(2)
    fc_before = target.fc.weight.clone()
    load_state_dict_checked(target, source.state_dict(), 'p.pth', strict=False)
    assert torch.equal(target.conv.weight, source.conv.weight)
    assert torch.equal(target.fc.weight, fc_before)
    # Nothing that fits: still refused.
    with pytest.raises(CheckpointMismatchError, match='None of its weights'):
        load_state_dict_checked(
            target, {'head.weight': torch.zeros(1)}, 'p.pth', strict=False)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_match')
    data_root = make_tiny_cls_dataset(str(root / 'data'), per_class=2)
    config = write_tiny_mmpretrain_config(
        str(root / 'tiny.py'), data_root, max_iters=2)
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    paths = {}
    for name, num_classes in (('fits', 2), ('other_classes', 3)):
        model = MODELS.build(
            Config.fromfile(
                write_tiny_mmpretrain_config(
                    str(root / f'{name}.py'), data_root,
                    num_classes=num_classes)).model)
        paths[name] = str(root / f'{name}.pth')
        torch.save(dict(state_dict=model.state_dict()), paths[name])
    paths['empty'] = str(root / 'empty.pth')
    torch.save(dict(state_dict={}), paths['empty'])
    return cfg, paths


def _runner(cfg, tmp_path, **options) -> CheckedLoadRunner:
    cfg = cfg.copy()
    cfg.work_dir = str(tmp_path)
    cfg.merge_from_dict(options)
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    assert isinstance(runner, CheckedLoadRunner)
    assert isinstance(runner.cfg, FormatOnceConfig)
    return runner


def test_runner_test_needs_a_fitting_checkpoint(tiny, tmp_path):
    cfg, paths = tiny
    assert 'accuracy/top1' in _runner(
        cfg, tmp_path / 'fits', load_from=paths['fits']).test()
    for name in ('other_classes', 'empty'):
        runner = _runner(cfg, tmp_path / name, load_from=paths[name])
        with pytest.raises(CheckpointMismatchError, match=paths[name]):
            runner.test()
    # An explicit opt-in loads what fits.
    _runner(
        cfg,
        tmp_path / 'partial',
        load_from=paths['other_classes'],
        load_from_strict=False).test()


def test_resume_needs_an_exact_fit(tiny, tmp_path):
    cfg, paths = tiny
    runner = _runner(
        cfg, tmp_path, load_from=paths['other_classes'], resume=True,
        load_from_strict=False)
    with pytest.raises(CheckpointMismatchError) as error:
        runner.train()
    assert str(error.value).startswith(
        f'Checkpoint "{paths["other_classes"]}" does not fit the model')


def test_a_truncated_latest_checkpoint_is_named(tiny, tmp_path):
    cfg, _ = tiny
    _runner(cfg, tmp_path).train()
    latest = osp.join(tmp_path, 'iter_2.pth')
    with open(latest, 'rb') as file:
        data = file.read()
    with open(latest, 'wb') as file:
        file.write(data[:len(data) // 2])
    runner = _runner(cfg, tmp_path, resume=True)
    with pytest.raises(RuntimeError) as error:
        runner.train()
    assert f'Could not read checkpoint "{latest}": it is truncated' in str(
        error.value)
