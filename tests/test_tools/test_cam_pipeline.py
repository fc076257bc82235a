# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: train a tiny CAM classifier with tools/train.py, write CAMs
with tools/test.py (1 and 2 processes, killed and resumed) and score them."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']
data_root = '{data}'
model = dict(backbone=dict(base_channels=8),
             head=dict(num_classes=3, in_channels=64),
             data_preprocessor=dict(num_classes=3))
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
test_dataloader = dict(**_loader, dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5, 1.5, 2.0)),
              dict(type='mmwsss.PackCAMInputs')]))
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=True, begin=0,
                        end=max_epochs, convert_to_iter_based=True)]
default_hooks = dict(checkpoint=dict(interval=2))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


@pytest.fixture(scope='module')
def trained(tiny_synthvoc, repo_root, tools, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('cam_pipeline')
    cfg = str(tmp / 'tiny_cam.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    work = str(tmp / 'train')
    train_log = tools.run(['tools/train.py', cfg, '--work-dir', work])
    assert 'multi-label/mAP' in train_log
    ckpt = osp.join(work, 'epoch_2.pth')
    assert osp.isfile(ckpt)
    out = str(tmp / 'cams_1proc')
    log = tools.run(tools.test_cmd(cfg, ckpt, out, str(tmp / 'test1')))
    return dict(cfg=cfg, ckpt=ckpt, tmp=tmp, cams=out, log=log,
                train_log=train_log)


def test_cams_written_with_manifest_and_scored(trained, tools):
    cams = tools.cams(trained['cams'])
    assert len(cams) == 8
    for arrays in cams.values():
        assert arrays['high_res'].shape[0] == arrays['keys'].shape[0]
        assert arrays['high_res'].max() < 1 and arrays['strided'].min() >= 0
    manifest = json.load(open(osp.join(trained['cams'], 'manifest.json')))
    assert manifest['written_this_run'] == 8 and manifest['failures'] == []
    assert manifest['checkpoint'] == trained['ckpt']
    assert len(manifest['checkpoint_sha256']) == 64
    assert 'cam_seed/mIoU' in trained['log']


def test_the_test_job_runs_channels_last_on_cpu(trained):
    # the CAM config opts in (cpu_cfg.channels_last): tools/test.py converts
    # the model on a CPU; training runs as written
    converted = 'ChannelsLastHook: the model runs with channels-last weights'
    assert (converted in trained['log']) == (not torch.cuda.is_available())
    assert converted not in trained['train_log']


def test_eval_cam_seeds_tool_matches_the_run(trained, tools):
    report = str(trained['tmp'] / 'seeds.json')
    log = tools.run([
        'tools/analysis/eval_cam_seeds.py', trained['cfg'], trained['cams'],
        '--out', report
    ])
    assert 'images scored: 8' in log
    in_run = float(trained['log'].split('cam_seed/mIoU: ')[1].split()[0])
    assert json.load(open(report))['miou'] == pytest.approx(in_run, abs=1e-3)


def test_eval_cam_seeds_chance_level(trained, tools):
    """--random-cams scores seeded uniform maps of each CAM file's classes,
    drawn image after image in dataset order, with the default sweep."""
    from mmengine.config import Config

    from mmwsss.datasets import VOCWSSSDataset
    from mmwsss.evaluation import CAMSeedMetric
    from mmwsss.fileio import read_cam_file, read_label_map

    report = str(trained['tmp'] / 'chance.json')
    log = tools.run([
        'tools/analysis/eval_cam_seeds.py', trained['cfg'], trained['cams'],
        '--random-cams', '3', '--out', report
    ])
    assert 'images scored: 8' in log
    dataset_cfg = Config.fromfile(trained['cfg']).test_dataloader.dataset
    dataset_cfg.pop('type')
    dataset = VOCWSSSDataset(**dict(dataset_cfg, pipeline=[]))
    metric = CAMSeedMetric()
    metric.dataset_meta = dataset.metainfo
    rng = np.random.default_rng(3)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        keys = read_cam_file(
            osp.join(trained['cams'], info['img_id'] + '.npz'))['keys']
        gt = read_label_map(info['seg_map_path'], 3)
        metric.process(None, [dict(
            cam_high_res=rng.random((len(keys), ) + gt.shape),
            cam_keys=keys, gt_sem_seg=dict(data=gt[None]))])
    expected = metric.compute_metrics(metric.results)['mIoU']
    assert json.load(open(report))['miou'] == pytest.approx(expected,
                                                            abs=1e-9)


def test_two_processes_equal_one(trained, tools):
    out = str(trained['tmp'] / 'cams_2proc')
    tools.run(
        tools.distributed(
            tools.test_cmd(trained['cfg'], trained['ckpt'], out,
                           str(trained['tmp'] / 'test2')), 2, free_port()))
    tools.assert_same_cams(trained['cams'], out)


def test_killed_job_resumes_to_identical_files(trained, tools):
    out = str(trained['tmp'] / 'cams_resumed')
    cmd = tools.test_cmd(trained['cfg'], trained['ckpt'], out,
                         str(trained['tmp'] / 'test3'))
    tools.kill_after_first(cmd, out)
    # simulate what a kill mid-write leaves behind: a stray temporary file
    os.makedirs(out, exist_ok=True)
    open(osp.join(out, 'sv_000001.npz.abc.tmp'), 'wb').write(b'partial')
    done_before = len(glob.glob(osp.join(out, '*.npz')))
    tools.run(cmd)
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert manifest['skipped_existing'] == done_before
    tools.assert_identical_files(trained['cams'], out)
    shutil.rmtree(out)


def test_bad_image_is_recorded_and_the_job_goes_on(trained, repo_root, tools,
                                                    tiny_synthvoc):
    data = str(trained['tmp'] / 'broken_voc')
    shutil.copytree(tiny_synthvoc, data)
    ids = open(osp.join(data, 'ImageSets/Segmentation/train.txt')).read(
    ).split()
    with open(osp.join(data, 'JPEGImages', ids[2] + '.jpg'), 'wb') as f:
        f.write(b'truncated')
    out = str(trained['tmp'] / 'cams_broken')
    # failures are accepted on request (else the job exits 1)
    tools.run(tools.test_cmd(
        trained['cfg'], trained['ckpt'], out, str(trained['tmp'] / 'test4'),
        [f'test_dataloader.dataset.data_root={data}',
         'test_cfg.allow_failures=True']))
    manifest = json.load(open(osp.join(out, 'manifest.json')))
    assert len(manifest['failures']) == 1
    assert manifest['failures'][0]['item'] == ids[2]
    assert ids[2] + '.jpg' in manifest['failures'][0]['error']
    written = sorted(osp.basename(f)[:-4]
                     for f in glob.glob(osp.join(out, '*.npz')))
    assert written == sorted(ids[:2] + ids[3:])
    # stop_on_error turns the same input into a hard failure
    proc = subprocess.run(
        [sys.executable] + tools.test_cmd(
            trained['cfg'], trained['ckpt'], str(trained['tmp'] / 'c5'),
            str(trained['tmp'] / 'test5'),
            [f'test_dataloader.dataset.data_root={data}',
             'test_cfg.stop_on_error=True']),
        cwd=repo_root, env=tools.env(), capture_output=True, text=True)
    assert proc.returncode != 0 and ids[2] + '.jpg' in proc.stderr
