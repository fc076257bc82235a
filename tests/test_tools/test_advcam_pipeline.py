# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: AdvCAM CAMs with tools/test.py and the configs/advcam config
on a tiny SynthVOC tree (1 and 2 processes, killed and resumed)."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from mmwsss.utils import load_npz

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


def _env(repo):
    env = dict(os.environ)
    env['PYTHONPATH'] = repo + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    return env


def _run(repo, args):
    proc = subprocess.run([sys.executable] + args, cwd=repo, env=_env(repo),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _test_cmd(cfg, ckpt, out_dir, work_dir, extra=()):
    return ['tools/test.py', cfg, ckpt, '--work-dir', work_dir,
            '--cfg-options', f'test_evaluator.0.output_dir={out_dir}',
            *extra]


def _cams(folder):
    files = sorted(glob.glob(osp.join(folder, '*.npz')))
    return {osp.basename(f): load_npz(f) for f in files}


@pytest.fixture(scope='module')
def advcam_run(tiny_synthvoc, repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('advcam_pipeline')
    cfg = str(tmp / 'tiny_advcam.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    # A CAM classifier checkpoint (random weights: AdvCAM never trains).
    model_cfg = Config.fromfile(cfg).model
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    ckpt = str(tmp / 'cam_classifier.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = str(tmp / 'cams_1proc')
    log = _run(repo_root, _test_cmd(cfg, ckpt, out, str(tmp / 'test1')))
    return dict(cfg=cfg, ckpt=ckpt, tmp=tmp, cams=out, log=log)


def test_cams_written_in_the_cam_format_and_scored(advcam_run):
    cams = _cams(advcam_run['cams'])
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


def test_two_processes_equal_one(advcam_run, repo_root):
    out = str(advcam_run['tmp'] / 'cams_2proc')
    cmd = [
        '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port', '29553'
    ] + _test_cmd(advcam_run['cfg'], advcam_run['ckpt'], out,
                  str(advcam_run['tmp'] / 'test2'), ['--launcher', 'pytorch'])
    _run(repo_root, cmd)
    one, two = _cams(advcam_run['cams']), _cams(out)
    assert one.keys() == two.keys()
    for name in one:
        for key in one[name]:
            np.testing.assert_allclose(
                one[name][key], two[name][key], atol=1e-5, err_msg=name)


def test_killed_job_resumes_to_identical_files(advcam_run, repo_root):
    out = str(advcam_run['tmp'] / 'cams_resumed')
    cmd = [sys.executable] + _test_cmd(advcam_run['cfg'], advcam_run['ckpt'],
                                       out, str(advcam_run['tmp'] / 'test3'))
    proc = subprocess.Popen(cmd, cwd=repo_root, env=_env(repo_root),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if glob.glob(osp.join(out, '*.npz')):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    done_before = len(glob.glob(osp.join(out, '*.npz')))
    assert done_before < 8, 'the job ended before it could be killed'
    _run(repo_root, cmd[1:])
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['skipped_existing'] == done_before
    for name in _cams(advcam_run['cams']):
        assert open(osp.join(out, name), 'rb').read() == open(
            osp.join(advcam_run['cams'], name), 'rb').read(), name
