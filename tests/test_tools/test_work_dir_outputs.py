# Copyright (c) mmwsss contributors. All rights reserved.
"""``tools/test.py --work-dir X`` of a writer config writes its stage
outputs under X (``{work_dir}/cams``), not into a fixed folder."""
import glob
import json
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS

CONFIG = """
_base_ = ['{repo}/configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']
data_root = '{data}'
model = dict(backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3))
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, )),
              dict(type='mmwsss.PackCAMInputs')]))
"""


def test_cams_go_into_the_work_dir(tiny_synthvoc, repo_root, tools,
                                   tmp_path):
    cfg = tmp_path / 'config.py'
    cfg.write_text(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    ckpt = str(tmp_path / 'classifier.pth')
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(cfg)).model)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    work_dir = tmp_path / 'run'
    tools.run(['tools/test.py', str(cfg), ckpt, '--work-dir', str(work_dir)])
    cams = sorted(glob.glob(str(work_dir / 'cams' / '*.npz')))
    assert len(cams) == 8
    manifest = json.load(open(work_dir / 'cams' / 'manifest.json'))
    assert osp.samefile(manifest['output_dir'], work_dir / 'cams')
