# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: RIB CAMs with tools/test.py on a tiny SynthVOC, with 1 and 2
processes and a killed-and-resumed run."""
import json
import os.path as osp

import pytest

from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py']
data_root = '{data}'
model = dict(backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3),
             rib_data=dict(dataset=dict(data_root=data_root), batch_size=2,
                           num_workers=1),
             num_iters=2, lr=0.01)
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize',
                   scales=(1.0, 0.5, 1.5, 2.0)),
              dict(type='mmwsss.PackCAMInputs')]))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


@pytest.fixture(scope='module')
def rib_run(tiny_synthvoc, repo_root, tools, tmp_path_factory):
    return tools.untrained_cam_run(
        CONFIG.format(repo=repo_root, data=tiny_synthvoc),
        tmp_path_factory.mktemp('rib_pipeline'))


def test_rib_cams_written_and_scored(rib_run, tools):
    cams = tools.cams(rib_run['cams'])
    assert len(cams) == 8
    for arrays in cams.values():
        assert arrays['high_res'].shape[0] == arrays['keys'].shape[0] >= 1
        assert arrays['high_res'].max() < 1 and arrays['strided'].min() >= 0
    manifest = json.load(open(osp.join(rib_run['cams'], 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert 'cam_seed/mIoU' in rib_run['log']


def test_killed_rib_job_resumes_to_identical_files(rib_run, tools):
    out = str(rib_run['tmp'] / 'cams_resumed')
    cmd = tools.test_cmd(rib_run['cfg'], rib_run['ckpt'], out,
                         str(rib_run['tmp'] / 'test2'))
    done_before = tools.kill_after_first(cmd, out)
    assert 1 <= done_before < 8
    tools.run(cmd)
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['skipped_existing'] == done_before
    tools.assert_identical_files(rib_run['cams'], out)


def test_two_processes_equal_one(rib_run, tools):
    out = str(rib_run['tmp'] / 'cams_2proc')
    tools.run(
        tools.distributed(
            tools.test_cmd(rib_run['cfg'], rib_run['ckpt'], out,
                           str(rib_run['tmp'] / 'test3')), 2, free_port()))
    tools.assert_same_cams(rib_run['cams'], out)
