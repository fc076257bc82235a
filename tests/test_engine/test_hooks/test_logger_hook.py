# Copyright (c) mmwsss contributors. All rights reserved.
import importlib.util
import json
import os.path as osp
from types import SimpleNamespace
from unittest import mock

from mmengine.config import Config

from mmwsss.engine.hooks import DistSafeLoggerHook


def _fake_runner(log_dir):
    log_processor = mock.Mock()
    log_processor.get_log_after_epoch.return_value = ({
        'seg/mIoU': 51.5,
        'classwise': [1, 2]
    }, 'test done')
    return SimpleNamespace(
        log_processor=log_processor,
        test_dataloader=[0, 1, 2],
        logger=mock.Mock(),
        log_dir=str(log_dir),
        timestamp='20261121_000000')


def _after_test(hook, runner, main):
    with mock.patch('mmwsss.engine.hooks.logger_hook.is_main_process',
                    return_value=main):
        hook.after_test_epoch(runner)


def test_only_the_main_process_writes_the_metric_file(tmp_path):
    hook = DistSafeLoggerHook()
    runner = _fake_runner(tmp_path)
    hook.json_log_path = runner.timestamp + '.json'
    path = osp.join(tmp_path, hook.json_log_path)

    _after_test(hook, runner, main=False)
    runner.logger.info.assert_called_once_with('test done')
    assert not osp.exists(path)

    _after_test(hook, runner, main=True)
    with open(path) as f:
        assert json.load(f) == {'seg/mIoU': 51.5, 'classwise': [1, 2]}


def _tools_test_module():
    path = osp.join(
        osp.dirname(__file__), '..', '..', '..', 'tools', 'test.py')
    spec = importlib.util.spec_from_file_location('mmwsss_tools_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tools_test_swaps_the_stock_logger_hook_only():
    tool = _tools_test_module()
    cfg = Config(
        dict(
            default_scope='mmseg',
            default_hooks=dict(logger=dict(type='LoggerHook', interval=5))))
    tool.use_dist_safe_logger(cfg)
    assert cfg.default_hooks.logger == dict(
        type='mmwsss.DistSafeLoggerHook', interval=5)

    custom = Config(
        dict(
            default_scope='mmseg',
            default_hooks=dict(
                logger=dict(type='mmwsss.DisplacementMeanShiftHook'))))
    tool.use_dist_safe_logger(custom)
    assert custom.default_hooks.logger.type == \
        'mmwsss.DisplacementMeanShiftHook'
