# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: AdvCAM CAMs with tools/test.py and the configs/advcam config
on a tiny SynthVOC tree (1 and 2 processes, killed and resumed)."""
import json
import os.path as osp

import pytest

from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/advcam/advcam_cam-r18w32-os16_synthvoc.py']
data_root = '{data}'
model = dict(adv_iter=2,
             backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3))
test_dataloader = dict(num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5)),
              dict(type='mmwsss.PackCAMInputs')]))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


@pytest.fixture(scope='module')
def advcam_run(tiny_synthvoc, repo_root, tools, tmp_path_factory):
    return tools.untrained_cam_run(
        CONFIG.format(repo=repo_root, data=tiny_synthvoc),
        tmp_path_factory.mktemp('advcam_pipeline'))


def test_cams_written_in_the_cam_format_and_scored(advcam_run, tools):
    cams = tools.cams(advcam_run['cams'])
    assert len(cams) == 8
    for arrays in cams.values():
        assert {'keys', 'strided', 'high_res'} <= set(arrays)
        assert 1 <= len(arrays['keys']) == arrays['high_res'].shape[0]
        assert arrays['strided'].shape[1:] == tuple(
            (s - 1) // 4 + 1 for s in arrays['high_res'].shape[1:])
        assert arrays['high_res'].min() >= 0 and arrays['high_res'].max() < 1
    assert max(a['high_res'].max() for a in cams.values()) > 0.9
    manifest = json.load(open(osp.join(advcam_run['cams'], 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert 'AdvCAMClassifier' in manifest['config']
    assert 'cam_seed/mIoU' in advcam_run['log']


def test_two_processes_equal_one(advcam_run, tools):
    out = str(advcam_run['tmp'] / 'cams_2proc')
    tools.run(
        tools.distributed(
            tools.test_cmd(advcam_run['cfg'], advcam_run['ckpt'], out,
                           str(advcam_run['tmp'] / 'test2')), 2, free_port()))
    tools.assert_same_cams(advcam_run['cams'], out)


def test_killed_job_resumes_to_identical_files(advcam_run, tools):
    out = str(advcam_run['tmp'] / 'cams_resumed')
    cmd = tools.test_cmd(advcam_run['cfg'], advcam_run['ckpt'], out,
                         str(advcam_run['tmp'] / 'test3'))
    done_before = tools.kill_after_first(cmd, out)
    assert done_before < 8, 'the job ended before it could be killed'
    tools.run(cmd)
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['skipped_existing'] == done_before
    tools.assert_identical_files(advcam_run['cams'], out)
