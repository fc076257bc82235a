# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/analysis/visualize_attention.py on randomly initialised tiny models."""
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image

from mmwsss.registry import MODELS

TINY = """
_base_ = ['{repo}/configs/moana/{name}']
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64){neck})
"""


def _load_tool(repo: str):
    path = osp.join(repo, 'tools', 'analysis', 'visualize_attention.py')
    spec = importlib.util.spec_from_file_location('visualize_attention', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_model(repo: str, tmp_path, name: str) -> tuple:
    """Write a tiny variant of a config and a random checkpoint of it."""
    config = str(tmp_path / f'tiny_{name}')
    neck = ', neck=dict(in_channels=64)' if name.startswith('moana') else ''
    with open(config, 'w') as f:
        f.write(TINY.format(repo=repo, name=name, neck=neck))
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / f'{name}.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config, checkpoint


@pytest.fixture(scope='module')
def setup(repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('vis_attention')
    moana = _tiny_model(repo_root, tmp,
                        'moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
    cam = _tiny_model(repo_root, tmp,
                      'cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
    rng = np.random.default_rng(0)
    images = []
    for i, (h, w) in enumerate([(90, 120), (64, 64)]):
        path = str(tmp / f'img{i}.jpg')
        Image.fromarray(rng.integers(0, 255, (h, w, 3),
                                     dtype=np.uint8)).save(path)
        images.append((path, h, w))
    return _load_tool(repo_root), moana, cam, images, tmp


def _run(tool, argv, monkeypatch):
    monkeypatch.setattr(sys, 'argv', ['visualize_attention.py'] + argv)
    tool.main()


def _check_png(path: str, h: int, w: int) -> None:
    assert osp.isfile(path), path
    with Image.open(path) as img:
        assert img.size == (w, h) and img.mode == 'RGB'
        pixels = np.asarray(img)
    assert pixels.std() > 0  # not a blank image


def _check_panel(stem: str, names, h: int, w: int) -> None:
    """``<stem>_panel.png`` holds the single panels in rows of four, each
    under its title band."""
    title, gap = 14, 4
    with Image.open(f'{stem}_panel.png') as img:
        panel = np.asarray(img.convert('RGB'))
    rows = -(-len(names) // 4)
    assert panel.shape == (rows * (title + h) + (rows - 1) * gap,
                           4 * w + 3 * gap, 3)
    for k, name in enumerate(names):
        y = (k // 4) * (title + h + gap)
        x = (k % 4) * (w + gap)
        with Image.open(f'{stem}_{name}.png') as single:
            np.testing.assert_array_equal(
                panel[y + title:y + title + h, x:x + w], np.asarray(single),
                err_msg=name)
        assert (panel[y:y + title, x:x + w] < 128).any(), name  # its title


def test_panels_with_baseline_and_gt_boxes(setup, monkeypatch):
    tool, (config, ckpt), (cam_config, cam_ckpt), images, tmp = setup
    out = str(tmp / 'with_baseline')
    _run(tool, [
        config, ckpt, images[0][0], images[1][0], '--out-dir', out,
        '--cam-config', cam_config, '--cam-checkpoint', cam_ckpt, '--gt-box',
        '10', '20', '80', '70', '--gt-box', '0', '0', '63', '63'
    ], monkeypatch)
    for path, h, w in images:
        stem = osp.join(out, osp.splitext(osp.basename(path))[0])
        for name in ('cam', 'moana', 'E_zh', 'E_zw', 'M', 'X', 'X_hat', 'D',
                     'boxes'):
            _check_png(f'{stem}_{name}.png', h, w)
        _check_panel(stem, ('cam', 'moana', 'E_zh', 'E_zw', 'M', 'X',
                            'X_hat', 'D', 'boxes'), h, w)
    # the height attention is constant along the width, the width one along
    # the height
    with Image.open(osp.join(out, 'img0_E_zh.png')) as img:
        zh = np.asarray(img).astype(int)
    assert (zh == zh[:, :1]).all() and zh.std() > 0


def test_panels_without_baseline(setup, monkeypatch, capsys):
    tool, (config, ckpt), _, images, tmp = setup
    out = str(tmp / 'alone')
    _run(tool, [config, ckpt, images[0][0], '--out-dir', out, '--label', '1'],
         monkeypatch)
    assert 'img0_panel.png' in capsys.readouterr().out
    _check_png(osp.join(out, 'img0_cam.png'), 90, 120)
    assert not osp.exists(osp.join(out, 'img0_boxes.png'))
    _check_panel(osp.join(out, 'img0'), ('cam', 'moana', 'E_zh', 'E_zw',
                                          'M', 'X', 'X_hat', 'D'), 90, 120)


def test_rejects_a_model_without_attention_neck(setup, monkeypatch):
    tool, _, (cam_config, cam_ckpt), images, tmp = setup
    with pytest.raises(ValueError, match='attention neck'):
        _run(tool, [cam_config, cam_ckpt, images[0][0], '--out-dir',
                    str(tmp / 'bad')], monkeypatch)
