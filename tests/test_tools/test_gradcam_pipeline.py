# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: Grad-CAM++ CAM files with tools/test.py and the
configs/gradcam SynthVOC config, from a CAM classifier checkpoint."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from mmwsss.utils import load_npz

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py']
data_root = '{data}'
model = dict(method='gradcampp',
             backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3))
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5)),
              dict(type='mmwsss.PackCAMInputs')]))
"""


def test_gradcam_cam_files_through_tools_test(tiny_synthvoc, repo_root,
                                               tmp_path):
    cfg = str(tmp_path / 'tiny_gradcam.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    # A checkpoint of the wrapped CAM classifier (random weights).
    model_cfg = Config.fromfile(cfg).model
    model_cfg.type = 'mmwsss.CAMClassifier'
    for key in ('method', 'target_layer'):
        model_cfg.pop(key)
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    ckpt = str(tmp_path / 'cam_classifier.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = str(tmp_path / 'cams')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = repo_root + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir',
         str(tmp_path / 'work'), '--cfg-options',
         f'test_evaluator.0.output_dir={out}'],
        cwd=repo_root, env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'cam_seed/mIoU' in log
    files = sorted(glob.glob(osp.join(out, '*.npz')))
    assert len(files) == 8
    for path in files:
        arrays = load_npz(path)
        keys, high_res = arrays['keys'], arrays['high_res']
        assert 1 <= len(keys) == len(high_res) == len(arrays['strided'])
        assert set(keys) <= {0, 1, 2}
        assert arrays['strided'].shape[1:] == tuple(
            (s - 1) // 4 + 1 for s in high_res.shape[1:])
        assert high_res.min() >= 0 and high_res.max() < 1
        assert arrays['scores'].shape == (3, )
    assert max(load_npz(p)['high_res'].max() for p in files) > 0.9
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert 'GradCAMClassifier' in manifest['config']
