# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end with the standard tools and the configs/irn configs: IR labels
from CAM files (tools/test.py, resumed), IRNet training (tools/train.py) and
random-walk pseudo-masks (tools/test.py)."""
import glob
import os.path as osp

import pytest
import torch

from mmwsss.fileio import read_label_map

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


@pytest.fixture(scope='module')
def setup(tiny_synthvoc, tmp_path_factory, repo_root, tools):
    tmp = tmp_path_factory.mktemp('irn_pipeline')
    paths = dict(
        repo=repo_root,
        data=tiny_synthvoc,
        loader=_LOADER,
        cams=str(tmp / 'cams'),
        ir=str(tmp / 'ir_labels'),
        masks=str(tmp / 'masks'))
    ids = tools.write_gt_cams(tiny_synthvoc, paths['cams'])
    configs = tools.write_configs(
        tmp, dict(ir=IR_CONFIG, irnet=IRNET_CONFIG, rw=RW_CONFIG), **paths)
    return dict(tmp=tmp, paths=paths, ids=ids, configs=configs)


# One fixture per stage, each running on the previous one's outputs.
@pytest.fixture(scope='module')
def ir_labels(setup, tools):
    return tools.weight_free_labels(setup['configs']['ir'], setup['tmp'],
                                    'ir_run')


@pytest.fixture(scope='module')
def irnet(setup, ir_labels, tools):
    log = tools.run([
        'tools/train.py', setup['configs']['irnet'], '--work-dir',
        str(setup['tmp'] / 'irnet')
    ])
    return dict(log=log, ckpt=str(setup['tmp'] / 'irnet' / 'epoch_2.pth'))


@pytest.fixture(scope='module')
def pseudo_masks(setup, irnet, tools):
    return tools.run([
        'tools/test.py', setup['configs']['rw'], irnet['ckpt'], '--work-dir',
        str(setup['tmp'] / 'rw_run')
    ])


def test_ir_labels_written_scored_and_resumed(setup, ir_labels, tools):
    tools.assert_labels_written_and_resumed(setup['paths']['ir'],
                                            setup['ids'], ir_labels)


def test_ir_labels_two_processes_equal_one(setup, ir_labels, tools):
    out, _ = tools.two_process_test(setup['configs']['ir'],
                                    ir_labels['cam_ckpt'], setup['tmp'],
                                    'ir_labels_2proc')
    tools.assert_identical_files(setup['paths']['ir'], out, '*.png')


def test_irnet_trains_and_stores_the_mean_shift(irnet):
    assert 'loss_aff' in irnet['log']
    assert 'IRNet displacement mean' in irnet['log']
    state = torch.load(irnet['ckpt'], map_location='cpu')['state_dict']
    assert state['displacement_mean'].abs().sum() > 0


def test_pseudo_masks_written_and_scored(setup, pseudo_masks, tools):
    masks = sorted(glob.glob(osp.join(setup['paths']['masks'], '*.png')))
    assert len(masks) == len(setup['ids'])
    data = setup['paths']['data']
    for f in masks:
        gt = read_label_map(
            osp.join(data, 'SegmentationClass', osp.basename(f)), 3)
        assert read_label_map(f, 3).shape == gt.shape
    assert 0 < tools.metric(pseudo_masks, 'pseudo_mask/mIoU') <= 100


def test_pseudo_masks_killed_and_rerun_are_byte_identical(
        setup, irnet, pseudo_masks, tools):
    tools.assert_rerun_rewrites_the_missing([
        'tools/test.py', setup['configs']['rw'], irnet['ckpt'], '--work-dir',
        str(setup['tmp'] / 'rw_run_resumed')
    ], setup['paths']['masks'], setup['ids'])


def test_pseudo_masks_two_processes_equal_one(setup, irnet, pseudo_masks,
                                              tools):
    # Each image is computed on its own (same float64 walk on any rank), so
    # no label may differ, not even where scores tie. The job must also exit
    # cleanly on every rank (tools/test.py tears gloo down before exit).
    out, log = tools.two_process_test(setup['configs']['rw'], irnet['ckpt'],
                                      setup['tmp'], 'masks_2proc')
    assert 'terminate called' not in log
    tools.assert_same_label_maps(setup['paths']['masks'], out, setup['ids'])
    assert tools.metric(log, 'pseudo_mask/mIoU') == \
        tools.metric(pseudo_masks, 'pseudo_mask/mIoU')
