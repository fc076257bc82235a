# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: FickleNet CAMs with tools/test.py on a tiny SynthVOC, with 1
and 2 processes and after a kill (the masks are seeded per image)."""
import json
import os
import os.path as osp
import shutil

import pytest

from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py']
data_root = '{data}'
load_from = None
model = dict(backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3), num_draws=3,
             draw_chunk=2)
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5)),
              dict(type='mmwsss.PackCAMInputs')]))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


@pytest.fixture(scope='module')
def fickle_run(tiny_synthvoc, repo_root, tools, tmp_path_factory):
    return tools.untrained_cam_run(
        CONFIG.format(repo=repo_root, data=tiny_synthvoc),
        tmp_path_factory.mktemp('ficklenet_pipeline'))


def test_ficklenet_cams_written_and_scored(fickle_run, tools):
    cams = tools.cams(fickle_run['cams'])
    assert len(cams) == 8
    for arrays in cams.values():
        assert arrays['high_res'].shape[0] == arrays['keys'].shape[0] >= 1
        assert arrays['high_res'].max() < 1 and arrays['strided'].min() >= 0
    manifest = json.load(open(osp.join(fickle_run['cams'], 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert 'cam_seed/mIoU' in fickle_run['log']


def test_two_processes_equal_one(fickle_run, tools):
    out = str(fickle_run['tmp'] / 'cams_2proc')
    tools.run(
        tools.distributed(
            tools.test_cmd(fickle_run['cfg'], fickle_run['ckpt'], out,
                           str(fickle_run['tmp'] / 'test2')), 2, free_port()))
    tools.assert_same_cams(fickle_run['cams'], out)


def test_killed_and_rerun_job_rewrites_the_same_files(fickle_run, tools):
    # A killed job leaves some CAMs missing and a stray temp file; the same
    # command skips the finished images and redraws the others identically.
    out = str(fickle_run['tmp'] / 'cams_resumed')
    shutil.copytree(fickle_run['cams'], out)
    names = sorted(n for n in os.listdir(out) if n.endswith('.npz'))
    for name in names[::2]:
        os.remove(osp.join(out, name))
    open(osp.join(out, names[0] + '.tmp'), 'wb').close()
    tools.run(
        tools.test_cmd(fickle_run['cfg'], fickle_run['ckpt'], out,
                       str(fickle_run['tmp'] / 'test3')))
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['written_this_run'] == len(names[::2])
    assert manifest['skipped_existing'] == len(names) - len(names[::2])
    tools.assert_same_cams(fickle_run['cams'], out, atol=0)
