# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end with the standard tools and the configs/psa configs: la/ha
labels from CAM files (tools/test.py, resumed and on two processes),
AffinityNet training (tools/train.py) and random-walk pseudo-masks
(tools/test.py, resumed and on two processes), on a tiny SynthVOC whose
CAMs are its masks."""
import os.path as osp

import pytest
import torch

from mmwsss.fileio import read_label_map

pytestmark = pytest.mark.slow

_LOADER = 'num_workers=0, persistent_workers=False'
# A narrow backbone and head: seconds per stage on the CPU.
_TINY_MODEL = ('backbone=dict(base_channels=8, init_cfg=None), '
               'in_channels=(16, 32, 64), tap_channels=(8, 8, 16)')

LABEL_CONFIG = """
_base_ = ['{repo}/configs/psa/psa-label_r18w32-os16_synthvoc.py']
model = dict(num_workers=2)
test_dataloader = dict(batch_size=4, {loader}, dataset=dict(
    data_root='{data}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
                   arrays=('keys', 'high_res')),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{labels}'),
                  dict(type='mmwsss.IRLabelMetric')]
"""

TRAIN_CONFIG = """
_base_ = ['{repo}/configs/psa/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py']
model = dict({model})
train_dataloader = dict(batch_size=4, {loader}, dataset=dict(
    data_root='{data}', ir_label_dir='{labels}'))
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=True, begin=0,
                        end=1, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=1)
default_hooks = dict(checkpoint=dict(interval=1))
"""

RW_CONFIG = """
_base_ = ['{repo}/configs/psa/affinitynet-rw_r18w32-d8_synthvoc.py']
model = dict({model}, logt=4)
test_dataloader = dict({loader}, dataset=dict(
    data_root='{data}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
                   arrays=('keys', 'high_res')),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [dict(type='mmwsss.PseudoMaskWriter', output_dir='{masks}'),
                  dict(type='mmwsss.PseudoMaskMetric')]
"""


@pytest.fixture(scope='module')
def setup(tiny_synthvoc, repo_root, tmp_path_factory, tools):
    tmp = tmp_path_factory.mktemp('psa_pipeline')
    paths = dict(
        repo=repo_root,
        data=tiny_synthvoc,
        loader=_LOADER,
        model=_TINY_MODEL,
        cams=str(tmp / 'cams'),
        labels=str(tmp / 'psa_labels'),
        masks=str(tmp / 'masks'))
    ids = tools.write_gt_cams(tiny_synthvoc, paths['cams'])
    configs = tools.write_configs(
        tmp, dict(label=LABEL_CONFIG, train=TRAIN_CONFIG, rw=RW_CONFIG),
        **paths)
    return dict(tmp=tmp, paths=paths, ids=ids, configs=configs)


# One fixture per stage, each running on the previous one's outputs.
@pytest.fixture(scope='module')
def labels(setup, tools):
    return tools.weight_free_labels(setup['configs']['label'], setup['tmp'],
                                    'label_run')


@pytest.fixture(scope='module')
def affinitynet(setup, labels, tools):
    log = tools.run([
        'tools/train.py', setup['configs']['train'], '--work-dir',
        str(setup['tmp'] / 'affinitynet')
    ])
    return dict(
        log=log, ckpt=str(setup['tmp'] / 'affinitynet' / 'epoch_1.pth'))


@pytest.fixture(scope='module')
def pseudo_masks(setup, affinitynet, tools):
    return tools.run([
        'tools/test.py', setup['configs']['rw'], affinitynet['ckpt'],
        '--work-dir',
        str(setup['tmp'] / 'rw_run')
    ])


def test_labels_written_scored_and_resumed(setup, labels, tools):
    tools.assert_labels_written_and_resumed(setup['paths']['labels'],
                                            setup['ids'], labels)


def test_labels_two_processes_equal_one(setup, labels, tools):
    # The weight-free generator runs under MMSeparateDistributedDataParallel
    # (model_wrapper_cfg of the IR-label dataset base).
    out, _ = tools.two_process_test(setup['configs']['label'],
                                    labels['cam_ckpt'], setup['tmp'],
                                    'labels_2proc')
    tools.assert_identical_files(setup['paths']['labels'], out, '*.png')


def test_affinitynet_trains(affinitynet):
    assert 'loss_aff' in affinitynet['log']
    assert 'neg_aff' in affinitynet['log']
    state = torch.load(affinitynet['ckpt'], map_location='cpu')['state_dict']
    assert 'affinity_head.fuse.weight' in state


def test_pseudo_masks_written_scored_and_resumed(setup, affinitynet,
                                                 pseudo_masks, tools):
    masks = setup['paths']['masks']
    names = sorted(setup['ids'])
    data = setup['paths']['data']
    for name in names:
        gt = read_label_map(
            osp.join(data, 'SegmentationClass', name + '.png'), 3)
        assert read_label_map(osp.join(masks, name + '.png'),
                              3).shape == gt.shape
    assert 0 < tools.metric(pseudo_masks, 'pseudo_mask/mIoU') <= 100
    tools.assert_rerun_rewrites_the_missing([
        'tools/test.py', setup['configs']['rw'], affinitynet['ckpt'],
        '--work-dir',
        str(setup['tmp'] / 'rw_run_resumed')
    ], masks, names)


def test_pseudo_masks_two_processes_equal_one(setup, affinitynet,
                                              pseudo_masks, tools):
    out, log = tools.two_process_test(setup['configs']['rw'],
                                      affinitynet['ckpt'], setup['tmp'],
                                      'masks_2proc')
    tools.assert_same_label_maps(setup['paths']['masks'], out, setup['ids'])
    assert tools.metric(log, 'pseudo_mask/mIoU') == \
        tools.metric(pseudo_masks, 'pseudo_mask/mIoU')
