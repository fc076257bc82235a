# Copyright (c) mmwsss contributors. All rights reserved.
"""Every config of configs/deeplabv2 builds; the SynthVOC one loads the tiny
SynthVOC tree, trains with tools/train.py and tests with tools/test.py."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from PIL import Image

from mmwsss.fileio import read_label_map
from mmwsss.registry import DATASETS, MODELS
from mmwsss.testing import param_groups_by_name

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'deeplabv2')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
SYNTHVOC_CONFIG = 'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py'
VOC_CONFIG = 'deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py'
VOC_ROOT = osp.join(ROOT, 'data', 'VOCdevkit', 'VOC2012')
SYNTHVOC_ROOT = osp.join(ROOT, 'data', 'synthvoc')


def _config(name: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    init_default_scope(cfg.default_scope)
    return cfg


def _model(cfg: Config) -> torch.nn.Module:
    # No pretrained download: PyTorch's initialisation for the backbone.
    cfg.model.backbone.init_cfg = None
    cfg.model.pop('pretrained', None)
    return MODELS.build(cfg.model)


def _dataset(loader_cfg: dict, **kwargs):
    cfg = loader_cfg.dataset.copy()
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_all_configs_listed():
    assert {osp.basename(p) for p in CONFIGS} == {
        VOC_CONFIG,
        'deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo-crf.py',
        'deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512_pseudo.py',
        'deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo.py',
        'deeplabv2_r101-d8_1xb10-100k_coco14-481x481_pseudo-crf.py',
        SYNTHVOC_CONFIG,
    }


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_builds_in_the_mmseg_scope(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports.imports == ['mmwsss']
    assert cfg.train_dataloader.dataset.type == 'mmwsss.PseudoLabelSegDataset'
    # the pseudo-masks of a random-walk config's default work dir
    assert cfg.train_dataloader.dataset.pseudo_mask_dir.startswith(
        'work_dirs/irnet-rw_')
    init_default_scope(cfg.default_scope)
    model = _model(cfg)
    head = model.decode_head
    assert head.num_classes == cfg.num_classes
    if 'deeplabv2' in osp.basename(path):
        assert type(head).__name__ == 'ASPPv2Head'
        assert head.dilations == (6, 12, 18, 24)
        assert model.backbone.out_indices == (3, )
        assert type(model.backbone).__name__ == 'ResNet'
        # Output stride 8: layer3/4 dilated, not strided.
        assert model.backbone.strides == (1, 2, 1, 1)
        assert model.backbone.dilations == (1, 1, 2, 4)
    else:
        assert type(head).__name__ == 'DepthwiseSeparableASPPHead'


def test_voc_deeplabv2_recipe():
    cfg = _config(VOC_CONFIG)
    assert cfg.train_dataloader.batch_size == 10
    assert cfg.train_cfg.max_iters == 20000
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet101'
    assert cfg.model.backbone.depth == 101
    pipeline = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert pipeline['mmwsss.RandomRescale']['scale_range'] == (0.5, 1.5)
    assert pipeline['mmwsss.RandomCropPad']['crop_size'] == 321
    assert cfg.param_scheduler[0].power == 0.9
    assert cfg.tta_model.type == 'SegTTAModel'
    crf = _config('deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo-crf.py')
    assert crf.tta_model.type == 'mmwsss.CRFSegTTAModel'

    model = _model(cfg)
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert optim.defaults['momentum'] == 0.9
    groups = param_groups_by_name(model, optim)
    base = groups['backbone.layer4.2.conv2.weight']
    assert base['lr'] == pytest.approx(2.5e-4)
    assert base['weight_decay'] == pytest.approx(5e-4)
    weight = groups['decode_head.aspp_convs.3.weight']
    assert weight['lr'] == pytest.approx(2.5e-3)
    assert weight['weight_decay'] == pytest.approx(5e-4)
    bias = groups['decode_head.aspp_convs.0.bias']
    assert bias['lr'] == pytest.approx(5e-3)
    assert bias['weight_decay'] == 0
    # Frozen BatchNorm.
    assert not model.backbone.bn1.weight.requires_grad
    model.train()
    assert not model.backbone.bn1.training


@pytest.mark.skipif(
    not osp.isdir(VOC_ROOT), reason='PASCAL VOC 2012 is not in data/')
def test_voc_val_dataset_builds():
    cfg = _config(VOC_CONFIG)
    dataset = _dataset(cfg.val_dataloader, data_root=VOC_ROOT)
    assert len(dataset) == 1449
    assert len(dataset.metainfo['classes']) == 21


def test_synthvoc_datasets_and_forward(tiny_synthvoc):
    cfg = _config(SYNTHVOC_CONFIG)
    train_set = _dataset(
        cfg.train_dataloader,
        data_root=tiny_synthvoc,
        pseudo_mask_dir=osp.join(tiny_synthvoc, 'SegmentationClass'))
    assert train_set.metainfo['classes'][0] == 'background'
    items = [train_set[i] for i in range(2)]
    assert items[0]['inputs'].shape == (3, 112, 112)
    assert items[0]['data_samples'].gt_sem_seg.data.shape == (1, 112, 112)
    val_set = _dataset(cfg.val_dataloader, data_root=tiny_synthvoc)
    assert val_set[0]['data_samples'].seg_map_path.startswith(
        osp.join(tiny_synthvoc, 'SegmentationClass'))
    tta_set = _dataset(
        cfg.test_dataloader,
        data_root=tiny_synthvoc,
        pipeline=cfg.tta_pipeline)
    assert len(tta_set[0]['inputs']) == 10  # 5 scales x 2 flips

    cfg.model.decode_head.num_classes = 4  # tiny_synthvoc: 3 classes
    model = _model(cfg)
    model.init_weights()
    data = model.data_preprocessor(pseudo_collate(items), training=True)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce'])


@pytest.mark.skipif(
    not osp.isfile(osp.join(SYNTHVOC_ROOT, 'meta.json')),
    reason='data/synthvoc has not been generated')
def test_synthvoc_config_reads_the_default_data():
    cfg = _config(SYNTHVOC_CONFIG)
    train_set = _dataset(
        cfg.train_dataloader,
        data_root=SYNTHVOC_ROOT,
        pseudo_mask_dir=osp.join(SYNTHVOC_ROOT, 'SegmentationClass'))
    assert len(train_set.metainfo['classes']) == cfg.num_classes
    val_set = _dataset(cfg.val_dataloader, data_root=SYNTHVOC_ROOT)
    assert len(val_set) > 0


TINY_CONFIG = """
_base_ = ['{config}']
data_root = '{data}'
num_classes = 4
model = dict(decode_head=dict(num_classes=num_classes))
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    batch_size=4, **_loader,
    dataset=dict(
        data_root=data_root,
        pseudo_mask_dir='{pseudo}',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='mmwsss.LoadPseudoLabel', num_classes=num_classes),
            dict(type='mmwsss.RandomRescale', scale_range=(0.5, 1.5)),
            dict(type='mmwsss.RandomCropPad', crop_size=112),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]))
val_dataloader = dict(**_loader, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_iters = 2
param_scheduler = [dict(type='PolyLR', power=0.9, begin=0, end=max_iters,
                        by_epoch=False)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=1), checkpoint=dict(interval=max_iters))
"""


def _run(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run([sys.executable] + args,
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope='module')
def trained(tiny_synthvoc, tmp_path_factory):
    """A 2-iteration tools/train.py run on tiny_synthvoc; GT as pseudo."""
    tmp = tmp_path_factory.mktemp('deeplabv2')
    cfg = tmp / 'tiny_deeplabv2.py'
    cfg.write_text(
        TINY_CONFIG.format(
            config=osp.join(CONFIG_DIR, SYNTHVOC_CONFIG),
            data=tiny_synthvoc,
            pseudo=osp.join(tiny_synthvoc, 'SegmentationClass')))
    work = str(tmp / 'work')
    log = _run(['tools/train.py', str(cfg), '--work-dir', work])
    return tmp, str(cfg), osp.join(work, 'iter_2.pth'), log


@pytest.mark.slow
def test_train_tool_trains_and_validates(trained):
    _, _, ckpt, log = trained
    assert 'Iter(train) [2/2]' in log
    assert 'mIoU' in log  # IoUMetric on the val split with the real GT
    assert osp.isfile(ckpt)


@pytest.mark.slow
def test_test_tool_reports_miou_and_writes_pngs(trained):
    tmp, cfg, ckpt, _ = trained
    out, written = str(tmp / 'pred'), str(tmp / 'written')
    log = _run([
        'tools/test.py', cfg, ckpt, '--work-dir',
        str(tmp / 'test'), '--out', out, '--cfg-options',
        f'test_evaluator.1.output_dir={written}'
    ])
    assert 'mIoU' in log
    assert len(os.listdir(out)) == 4  # the tiny val split
    # the config's LabelMapWriter: the same predictions as palette PNGs
    pngs = sorted(f for f in os.listdir(written) if f.endswith('.png'))
    assert pngs == sorted(os.listdir(out))
    for name in pngs:
        with Image.open(osp.join(out, name)) as mmseg_png:
            assert np.array_equal(
                read_label_map(osp.join(written, name), 3),
                np.asarray(mmseg_png))


@pytest.mark.slow
def test_test_tool_with_multi_scale_flip_and_crf(trained):
    tmp, cfg, ckpt, _ = trained
    written = tmp / 'written_crf'
    cmd = [
        'tools/test.py', cfg, ckpt, '--work-dir',
        str(tmp / 'test_crf'), '--tta', '--cfg-options',
        'tta_model.type=mmwsss.CRFSegTTAModel',
        f'test_evaluator.1.output_dir={written}'
    ]
    miou = re.findall(r'mIoU: ([\d.]+)', _run(cmd))
    assert miou
    # rerun: every prediction is read back from the writer's PNGs (one per
    # image, whatever the augmentations) and scores the same
    assert re.findall(r'mIoU: ([\d.]+)', _run(cmd))[-1] == miou[-1]
    manifest = json.loads((written / 'manifest.json').read_text())
    assert manifest['skipped_existing'] == manifest['items_this_run'] == 4
