# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/test.py --overwrite and --allow-failures set the loop's options."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config


@pytest.fixture(scope='module')
def tool(repo_root):
    spec = importlib.util.spec_from_file_location(
        'test_tool', osp.join(repo_root, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _args(tool, monkeypatch, *flags):
    monkeypatch.setattr(sys, 'argv', ['test.py', 'cfg.py', 'ckpt.pth', *flags])
    return tool.parse_args()


def test_flags_reach_the_resumable_loop(tool, monkeypatch):
    cfg = Config(
        dict(test_cfg=dict(type='mmwsss.ResumableTestLoop'), launcher='none'))
    args = _args(tool, monkeypatch, '--overwrite', '--allow-failures')
    tool.merge_args(cfg, args)
    assert cfg.test_cfg.overwrite is True
    assert cfg.test_cfg.allow_failures is True
    plain = Config(
        dict(test_cfg=dict(type='mmwsss.ResumableTestLoop'), launcher='none'))
    tool.merge_args(plain, _args(tool, monkeypatch))
    assert 'overwrite' not in plain.test_cfg
    assert 'allow_failures' not in plain.test_cfg


def test_flags_need_the_resumable_loop(tool, monkeypatch):
    cfg = Config(dict(test_cfg=dict(type='TestLoop'), launcher='none'))
    with pytest.raises(RuntimeError, match='--overwrite needs'):
        tool.merge_args(cfg, _args(tool, monkeypatch, '--overwrite'))
