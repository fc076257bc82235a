# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end with the standard tools and the configs/irn configs: IR labels
from CAM files (tools/test.py, resumed), IRNet training (tools/train.py) and
random-walk pseudo-masks (tools/test.py)."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmwsss.fileio import read_label_map
from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

_LOADER = "num_workers=0, persistent_workers=False"

IR_CONFIG = """
_base_ = ['{repo}/configs/irn/ir-label_r18w32-os16_synthvoc.py']
model = dict(num_workers=2)
test_dataloader = dict(batch_size=4, {loader}, dataset=dict(
    data_root='{data}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
                   arrays=('keys', 'high_res')),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{ir}'),
                  dict(type='mmwsss.IRLabelMetric')]
"""

IRNET_CONFIG = """
_base_ = ['{repo}/configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py']
model = dict(backbone=dict(base_channels=8, init_cfg=None),
             in_channels=(64, 8, 16, 32, 64))
_mean = [123.675, 116.28, 103.53]
train_dataloader = dict(batch_size=4, {loader}, dataset=dict(
    data_root='{data}', ir_label_dir='{ir}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.RandomRescale', scale_range=(0.5, 1.5)),
              dict(type='RandomFlip', prob=0.5, direction='horizontal'),
              dict(type='mmwsss.RandomCropPad', crop_size=96, pad_val=_mean),
              dict(type='mmwsss.DownsampleLabel', scale=0.25),
              dict(type='mmwsss.PackCAMInputs')]))
custom_hooks = [dict(
    type='mmwsss.DisplacementMeanShiftHook',
    dataloader=dict(
        batch_size=4, num_workers=0, drop_last=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        collate_fn=dict(type='default_collate'),
        dataset=dict(
            type='mmwsss.VOCWSSSDataset', data_root='{data}',
            ann_file='ImageSets/Segmentation/train.txt',
            data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
            pipeline=[dict(type='mmwsss.LoadImageRGB'),
                      dict(type='mmwsss.TopLeftCropPad', crop_size=96,
                           pad_val=_mean),
                      dict(type='mmwsss.PackCAMInputs')])))]
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=True, begin=0,
                        end=2, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=2)
default_hooks = dict(checkpoint=dict(interval=2))
"""

RW_CONFIG = """
_base_ = ['{repo}/configs/irn/irnet-rw_r18w32_synthvoc.py']
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64),
             exp_times=6)
test_dataloader = dict({loader}, dataset=dict(
    data_root='{data}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
                   arrays=('keys', 'strided')),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [dict(type='mmwsss.PseudoMaskWriter', output_dir='{masks}'),
                  dict(type='mmwsss.PseudoMaskMetric')]
"""


def _run(repo, args):
    env = dict(os.environ)
    env['PYTHONPATH'] = repo + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _metric(log, key):
    return float(log.split(key + ': ')[1].split()[0])


@pytest.fixture(scope='module')
def setup(tiny_synthvoc, repo_root, tmp_path_factory, tools):
    tmp = tmp_path_factory.mktemp('irn_pipeline')
    paths = dict(
        repo=repo_root,
        data=tiny_synthvoc,
        loader=_LOADER,
        cams=str(tmp / 'cams'),
        ir=str(tmp / 'ir_labels'),
        masks=str(tmp / 'masks'))
    ids = tools.write_gt_cams(tiny_synthvoc, paths['cams'])
    configs = {}
    for name, text in (('ir', IR_CONFIG), ('irnet', IRNET_CONFIG),
                       ('rw', RW_CONFIG)):
        configs[name] = str(tmp / f'{name}.py')
        with open(configs[name], 'w') as f:
            f.write(text.format(**paths))
    return dict(tmp=tmp, paths=paths, ids=ids, configs=configs)


# One fixture per stage, each running on the previous one's outputs.
@pytest.fixture(scope='module')
def ir_labels(setup, repo_root):
    cam_ckpt = str(setup['tmp'] / 'cam.pth')
    torch.save(dict(state_dict={}), cam_ckpt)
    cmd = [
        'tools/test.py', setup['configs']['ir'], cam_ckpt, '--work-dir',
        str(setup['tmp'] / 'ir_run')
    ]
    return dict(
        cam_ckpt=cam_ckpt,
        log=_run(repo_root, cmd),
        resumed_log=_run(repo_root, cmd))


@pytest.fixture(scope='module')
def irnet(setup, ir_labels, repo_root):
    log = _run(repo_root, [
        'tools/train.py', setup['configs']['irnet'], '--work-dir',
        str(setup['tmp'] / 'irnet')
    ])
    return dict(log=log, ckpt=str(setup['tmp'] / 'irnet' / 'epoch_2.pth'))


@pytest.fixture(scope='module')
def pseudo_masks(setup, irnet, repo_root):
    return _run(repo_root, [
        'tools/test.py', setup['configs']['rw'], irnet['ckpt'], '--work-dir',
        str(setup['tmp'] / 'rw_run')
    ])


def test_ir_labels_written_scored_and_resumed(setup, ir_labels):
    ir_dir = setup['paths']['ir']
    files = sorted(glob.glob(osp.join(ir_dir, '*.png')))
    assert [osp.basename(f)[:-4] for f in files] == sorted(setup['ids'])
    for f in files:
        assert set(np.unique(read_label_map(f, 3))) <= {0, 1, 2, 3, 255}
    # CAMs equal to the masks: confident labels are nearly all right
    assert _metric(ir_labels['log'], 'ir_label/precision') > 90
    manifest = json.load(open(osp.join(ir_dir, 'manifest.json')))
    assert manifest['checkpoint'] == ir_labels['cam_ckpt']
    assert manifest['skipped_existing'] == len(files)
    assert _metric(ir_labels['resumed_log'], 'ir_label/precision') == \
        _metric(ir_labels['log'], 'ir_label/precision')


def test_ir_labels_two_processes_equal_one(setup, ir_labels, repo_root):
    out = str(setup['tmp'] / 'ir_labels_2proc')
    _run(repo_root, [
        '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port', str(free_port()), 'tools/test.py', setup['configs']['ir'],
        ir_labels['cam_ckpt'], '--work-dir',
        str(setup['tmp'] / 'ir_run_2proc'), '--launcher', 'pytorch',
        '--cfg-options', f'test_evaluator.0.output_dir={out}'
    ])
    for name in setup['ids']:
        one = osp.join(setup['paths']['ir'], name + '.png')
        two = osp.join(out, name + '.png')
        assert open(one, 'rb').read() == open(two, 'rb').read(), name


def test_irnet_trains_and_stores_the_mean_shift(irnet):
    assert 'loss_aff' in irnet['log']
    assert 'IRNet displacement mean' in irnet['log']
    state = torch.load(irnet['ckpt'], map_location='cpu')['state_dict']
    assert state['displacement_mean'].abs().sum() > 0


def test_pseudo_masks_written_and_scored(setup, pseudo_masks):
    masks = sorted(glob.glob(osp.join(setup['paths']['masks'], '*.png')))
    assert len(masks) == len(setup['ids'])
    data = setup['paths']['data']
    for f in masks:
        gt = read_label_map(
            osp.join(data, 'SegmentationClass', osp.basename(f)), 3)
        assert read_label_map(f, 3).shape == gt.shape
    assert 0 < _metric(pseudo_masks, 'pseudo_mask/mIoU') <= 100


def test_pseudo_masks_killed_and_rerun_are_byte_identical(
        setup, irnet, pseudo_masks, repo_root):
    masks = setup['paths']['masks']
    names = sorted(setup['ids'])
    first = {n: open(osp.join(masks, n + '.png'), 'rb').read() for n in names}
    # A job killed mid-run: some masks missing, a stray temporary file left.
    for name in names[:2]:
        os.remove(osp.join(masks, name + '.png'))
    with open(osp.join(masks, names[0] + '.png.x1.tmp'), 'wb') as f:
        f.write(b'partial')
    _run(repo_root, [
        'tools/test.py', setup['configs']['rw'], irnet['ckpt'], '--work-dir',
        str(setup['tmp'] / 'rw_run_resumed')
    ])
    manifest = json.load(open(osp.join(masks, 'manifest.json')))
    assert manifest['written_this_run'] == 2
    assert manifest['skipped_existing'] == len(names) - 2
    for name in names:
        assert open(osp.join(masks, name + '.png'), 'rb').read() == \
            first[name], name


def test_pseudo_masks_two_processes_equal_one(setup, irnet, pseudo_masks,
                                              repo_root):
    # Each image is computed on its own (same float64 walk on any rank), so
    # no label may differ, not even where scores tie. The job must also exit
    # cleanly on every rank (tools/test.py tears gloo down before exit).
    out = str(setup['tmp'] / 'masks_2proc')
    log = _run(repo_root, [
        '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_port', str(free_port()), 'tools/test.py', setup['configs']['rw'],
        irnet['ckpt'], '--work-dir',
        str(setup['tmp'] / 'rw_run_2proc'), '--launcher', 'pytorch',
        '--cfg-options', f'test_evaluator.0.output_dir={out}'
    ])
    assert 'terminate called' not in log
    for name in sorted(setup['ids']):
        one = read_label_map(
            osp.join(setup['paths']['masks'], name + '.png'), 3)
        two = read_label_map(osp.join(out, name + '.png'), 3)
        np.testing.assert_array_equal(two, one, err_msg=name)
    assert _metric(log, 'pseudo_mask/mIoU') == \
        _metric(pseudo_masks, 'pseudo_mask/mIoU')
