# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: RIB CAMs with tools/test.py on a tiny SynthVOC, with 1 and 2
processes and a killed-and-resumed run."""
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
from mmengine import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from mmwsss.utils import load_npz

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
def rib_run(tiny_synthvoc, repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('rib_pipeline')
    cfg = str(tmp / 'tiny_rib.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    # a randomly initialised classifier stands in for a trained one
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    ckpt = str(tmp / 'classifier.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    out = str(tmp / 'cams_1proc')
    log = _run(repo_root, _test_cmd(cfg, ckpt, out, str(tmp / 'test1')))
    return dict(cfg=cfg, ckpt=ckpt, tmp=tmp, cams=out, log=log)


def test_rib_cams_written_and_scored(rib_run):
    cams = _cams(rib_run['cams'])
    assert len(cams) == 8
    for arrays in cams.values():
        assert arrays['high_res'].shape[0] == arrays['keys'].shape[0] >= 1
        assert arrays['high_res'].max() < 1 and arrays['strided'].min() >= 0
    manifest = json.load(open(osp.join(rib_run['cams'], 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert 'cam_seed/mIoU' in rib_run['log']


def test_killed_rib_job_resumes_to_identical_files(rib_run, repo_root):
    out = str(rib_run['tmp'] / 'cams_resumed')
    cmd = [sys.executable] + _test_cmd(rib_run['cfg'], rib_run['ckpt'], out,
                                       str(rib_run['tmp'] / 'test2'))
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
    assert 1 <= done_before < 8
    _run(repo_root, cmd[1:])
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['skipped_existing'] == done_before
    for name in _cams(rib_run['cams']):
        assert open(osp.join(out, name), 'rb').read() == open(
            osp.join(rib_run['cams'], name), 'rb').read(), name


def test_two_processes_equal_one(rib_run, repo_root):
    out = str(rib_run['tmp'] / 'cams_2proc')
    cmd = [
        '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port', '29547'
    ] + _test_cmd(rib_run['cfg'], rib_run['ckpt'], out,
                  str(rib_run['tmp'] / 'test3'), ['--launcher', 'pytorch'])
    _run(repo_root, cmd)
    one, two = _cams(rib_run['cams']), _cams(out)
    assert one.keys() == two.keys()
    for name in one:
        for key in one[name]:
            np.testing.assert_allclose(
                one[name][key], two[name][key], atol=1e-5, err_msg=name)
