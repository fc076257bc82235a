# Copyright (c) mmwsss contributors. All rights reserved.
"""End to end: W-OoD fine-tuning with tools/train.py on a tiny SynthVOC with
an OoD split (centres hook, OoD batches, mAP checkpoint selection)."""
import glob
import os.path as osp

import pytest
import torch

from mmwsss.testing import run_tool

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/wood/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py']
data_root = '{data}'
load_from = None
_feat = [dict(type='mmwsss.LoadImageRGB'), dict(type='mmwsss.PackCAMInputs')]
model = dict(
    backbone=dict(base_channels=8),
    head=dict(num_classes=3, in_channels=64),
    data_preprocessor=dict(num_classes=3),
    num_ood_clusters=2,
    ood_data=dict(batch_size=2, dataset=dict(data_root=data_root)))
custom_hooks = [dict(
    type='mmwsss.WOoDCentersHook',
    in_dataset=dict(type='mmwsss.VOCWSSSDataset', data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
        pipeline=_feat),
    ood_dataset=dict(type='mmwsss.OoDImageDataset', data_root=data_root,
        ann_file='ood_list.txt', pipeline=_feat))]
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [dict(type='PolyLR', power=0.9, by_epoch=True, begin=0,
                        end=max_epochs, convert_to_iter_based=True)]
default_hooks = dict(logger=dict(interval=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
"""


def _run(args):
    proc = run_tool(args, timeout=300, env=dict(OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_train_with_ood_split(tiny_synthvoc, repo_root, tmp_path):
    cfg = str(tmp_path / 'tiny_wood.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=repo_root, data=tiny_synthvoc))
    work = str(tmp_path / 'train')
    log = _run(['tools/train.py', cfg, '--work-dir', work])
    assert '2 OoD clusters (kmeans) from 2 images' in log
    assert 'W-OoD: 2 OoD images, batch 2' in log
    for key in ('loss_distance: ', 'loss_ood: ', 'multi-label/mAP'):
        assert key in log
    best = glob.glob(osp.join(work, 'best_multi-label_mAP_epoch_1.pth'))
    assert best, 'checkpoint selected by val mAP'
    state = torch.load(best[0], map_location='cpu',
                       weights_only=False)['state_dict']
    assert bool(state['wood_centers_ready'])
    assert state['wood_ood_centers'].shape == (2, 64)
    assert torch.isfinite(state['wood_class_centers']).all()
