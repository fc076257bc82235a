# Copyright (c) mmwsss contributors. All rights reserved.
import glob
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.structures import PixelData

from mmwsss.fileio import write_cam_file
from mmwsss.functional import (psa_affinity_labels, psa_affinity_loss,
                               psa_la_ha_label, psa_pair_affinity,
                               psa_pool_scores, psa_random_walk,
                               psa_rw_to_label, psa_scores_with_background)
from mmwsss.models.psa import AffinityHead
from mmwsss.registry import MODELS
from mmwsss.testing import param_groups_by_name
from mmwsss.testing.cam_samples import (bright_object_samples,
                                        cam_loaded_sample, label_grid_batch,
                                        predict_with_cams, seeded_model)

init_default_scope('mmpretrain')

DATA = Path(__file__).parents[2] / 'data'

TINY = dict(
    type='mmwsss.AffinityNet',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        base_channels=8,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(1, 2, 3)),
    in_channels=(16, 32, 64),
    tap_channels=(8, 8, 16))


def _model(**overrides):
    return seeded_model(TINY, **overrides)


def _train_batch(model):
    # labels on the stride-8 grid
    return label_grid_batch(model, stride=8, ignore_rows=2)


def test_head_matches_the_reference_vgg16_head():
    golden = np.load(DATA / 'psa_affinity_net_rw.npz')
    head = AffinityHead((512, 512, 1024), (64, 128, 256), (8, 16, 32))
    scale = float(golden['param_scale'])
    state = {}
    for i, name in enumerate(('f8_3', 'f8_4', 'f8_5')):
        state[f'taps.{i}.0.weight'] = golden[f'param_q.{name}.weight'] * scale
        for field in ('weight', 'bias'):
            state[f'taps.{i}.1.{field}'] = golden[f'param.gn8_{3 + i}.{field}']
    state['fuse.weight'] = golden['param_q.f9.weight'] * scale
    head.load_state_dict({
        k: torch.from_numpy(np.asarray(v, np.float32))
        for k, v in state.items()
    })
    feats = [
        torch.from_numpy(golden[f'feat_q.{name}'].astype(np.float32) *
                         float(golden['feat_scale']))
        for name in ('conv4', 'conv5', 'conv5fc')
    ]
    with torch.no_grad():
        out = head(feats)
    expected = golden['head_feature']
    np.testing.assert_allclose(
        out.reshape(1, 448, -1).numpy(), expected, rtol=0,
        atol=1e-5 * np.abs(expected).max())
    np.testing.assert_allclose(
        psa_pair_affinity(out).numpy(), golden['aff_sparse'], rtol=0,
        atol=1e-5)


def test_features_at_stride_8_and_the_backbone_trains():
    model = _model().train()
    assert model(torch.randn(2, 3, 64, 80), mode='tensor').shape == (2, 32, 8,
                                                                     10)
    data = _train_batch(model)
    losses = model(**data, mode='loss')
    features = model(data['inputs'], mode='tensor')
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    ref = psa_affinity_loss(
        psa_pair_affinity(features), *psa_affinity_labels(labels))
    torch.testing.assert_close(losses['loss_aff'], ref['loss_total'])
    torch.testing.assert_close(losses['neg_aff'], ref['loss_neg_aff'])
    assert not losses['bg_pos_aff'].requires_grad
    losses['loss_aff'].backward()
    assert model.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
    assert model.affinity_head.fuse.weight.grad.abs().sum() > 0


def test_one_sgd_step_lowers_the_loss_and_head_gets_ten_times_the_lr():
    model = _model().train()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=5e-4),
            paramwise_cfg=dict(
                custom_keys={'affinity_head': dict(lr_mult=10.0)})))
    groups = param_groups_by_name(model, wrapper.optimizer)
    assert groups['affinity_head.fuse.weight']['lr'] == pytest.approx(0.1)
    assert groups['backbone.layer4.0.conv1.weight']['lr'] == pytest.approx(
        0.01)
    data = _train_batch(model)
    before = model(**data, mode='loss')['loss_aff'].item()
    wrapper.update_params(model(**data, mode='loss')['loss_aff'])
    assert model(**data, mode='loss')['loss_aff'].item() < before


def test_loss_rejects_labels_of_the_wrong_grid():
    model = _model()
    data = _train_batch(model)
    for sample in data['data_samples']:
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 24, 24))
    with pytest.raises(ValueError, match='DownsampleLabel'):
        model(**data, mode='loss')


def _cams(height, width):
    high_res = np.zeros((2, height, width), np.float32)
    high_res[0, :height // 2, :width // 2] = 1
    high_res[1, height // 2:, width // 2:] = 0.8
    strided = high_res[:, ::4, ::4]
    return dict(keys=np.array([1, 4]), strided=strided, high_res=high_res)


def test_random_walk_pseudo_mask_is_the_functional_pipeline(tmp_path):
    model = _model(type='mmwsss.AffinityNetRandomWalk', logt=3).eval()
    # 45 x 75 pads to 48 x 80: a 6 x 10 grid
    img = torch.randint(0, 255, (3, 45, 75), dtype=torch.uint8)
    cams = _cams(45, 75)
    write_cam_file(str(tmp_path / 'im.npz'), **cams)
    sample = cam_loaded_sample(tmp_path, 'im', ('keys', 'high_res'), img)
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    out = model(**data, mode='predict')[0]
    assert out.psa_affinity.shape == (34, 2 * 2)
    label = out.pred_sem_seg.data
    assert label.shape == (1, 45, 75) and label.dtype == torch.uint8
    assert set(np.unique(label.numpy())) <= {0, 2, 5}

    padded = torch.nn.functional.pad(data['inputs'][0], (0, 5, 0, 3))
    with torch.no_grad():
        aff = psa_pair_affinity(model(padded[None], mode='tensor'))[0]
    torch.testing.assert_close(out.psa_affinity, aff)
    scores = psa_pool_scores(
        psa_scores_with_background(torch.from_numpy(cams['high_res']), 16))
    expected = psa_rw_to_label(
        psa_random_walk(scores, aff, beta=8, logt=3), cams['keys'], (45, 75))
    np.testing.assert_array_equal(label[0].numpy(), expected)


def test_random_walk_needs_matching_cams():
    model = _model(type='mmwsss.AffinityNetRandomWalk').eval()
    img = torch.randint(0, 255, (3, 45, 75), dtype=torch.uint8)

    with pytest.raises(KeyError, match='LoadCAMFile'):
        predict_with_cams(model, img)
    with pytest.raises(ValueError, match='the image'):
        predict_with_cams(
            model, img, dict(keys=torch.tensor([0]),
                             high_res=torch.ones(1, 40, 75)))
    with pytest.raises(ValueError, match='float32 or float64'):
        _model(type='mmwsss.AffinityNetRandomWalk', walk_dtype='float16')


@pytest.mark.parametrize('crf', [False, True])
def test_psa_label_generator(tmp_path, crf):
    inputs, samples = bright_object_samples(tmp_path)
    model = MODELS.build(
        dict(
            type='mmwsss.PSALabelGenerator',
            crf=crf,
            crf_cfg=dict(bilateral_sxy=10) if crf else None))
    out = model.test_step(dict(inputs=inputs, data_samples=samples))
    label = out[0].pred_sem_seg.data[0].numpy()
    assert label.shape == (20, 24)
    assert label[10, 12] == 3 and label[0, 0] == 0
    if not crf:
        expected = psa_la_ha_label(samples[0].cam_high_res.numpy(), [2])
        np.testing.assert_array_equal(label, expected)
        assert label[5, 6] == 255  # 0.9**32 < 0.1 < 0.9**4
    pooled = MODELS.build(
        dict(
            type='mmwsss.PSALabelGenerator',
            crf=crf,
            crf_cfg=dict(bilateral_sxy=10) if crf else None,
            num_workers=2))
    _, samples2 = bright_object_samples(tmp_path)
    out2 = pooled.test_step(dict(inputs=inputs, data_samples=samples2))
    for a, b in zip(out, out2):
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_psa_label_generator_checks_its_settings(tmp_path):
    with pytest.raises(ValueError, match="'gt_prob'"):
        MODELS.build(
            dict(type='mmwsss.PSALabelGenerator', crf_cfg=dict(gt_prob=0.7)))
    with pytest.raises(ValueError, match='la_alpha'):
        MODELS.build(
            dict(type='mmwsss.PSALabelGenerator', la_alpha=32, ha_alpha=4))
    inputs, samples = bright_object_samples(tmp_path, names=('a', ))
    model = MODELS.build(dict(type='mmwsss.PSALabelGenerator'))
    with pytest.raises(TypeError, match='uint8'):
        model(inputs=[inputs[0].float()], data_samples=samples)
    with pytest.raises(ValueError, match='predict'):
        model(inputs=inputs, data_samples=samples, mode='loss')
    model.load_state_dict({'backbone.conv1.weight': torch.zeros(1)})


def test_psa_configs_build(repo_root):
    files = sorted(glob.glob(osp.join(repo_root, 'configs/psa/*.py')))
    assert len(files) == 6
    for path in files:
        cfg = Config.fromfile(path)
        assert cfg.default_scope == 'mmpretrain'
        if 'backbone' in cfg.model:
            cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == cfg.model.type.split('.')[-1]
        if 'train_dataloader' in cfg:
            assert cfg.optim_wrapper.paramwise_cfg.custom_keys
            # the la/ha labels of a psa-label config's default work dir
            assert cfg.train_dataloader.dataset.ir_label_dir.startswith(
                'work_dirs/psa-label_')
        else:
            assert cfg.test_cfg.type == 'mmwsss.ResumableTestLoop'


def test_voc_configs_encode_psas_recipe(repo_root):
    label = Config.fromfile(
        osp.join(repo_root, 'configs/psa/psa-label_r50-os16_voc12aug.py'))
    assert (label.model.la_alpha, label.model.ha_alpha) == (4, 32)
    assert 'crf_cfg' not in label.model  # PSA's CRF as is
    train = Config.fromfile(
        osp.join(repo_root,
                 'configs/psa/affinitynet_r50-d8_1xb8-8e_voc12aug-448.py'))
    assert train.train_dataloader.batch_size == 8
    assert train.train_cfg.max_epochs == 8
    assert train.optim_wrapper.optimizer.lr == 0.1
    assert train.optim_wrapper.optimizer.weight_decay == 5e-4
    crop = [
        t for t in train.train_dataloader.dataset.pipeline
        if t.type == 'mmwsss.RandomCropPad'
    ]
    assert crop[0].crop_size == 448
    assert train.model.radius == 5
    walk = Config.fromfile(
        osp.join(repo_root, 'configs/psa/affinitynet-rw_r50-d8_voc12aug.py'))
    assert (walk.model.alpha, walk.model.beta, walk.model.logt) == (16, 8, 8)


def test_one_training_iteration_on_synthvoc(tiny_synthvoc, repo_root,
                                            tmp_path):
    # The SynthVOC config and its data pipeline (colour jitter, crop 128,
    # flip, labels to the 16 x 16 grid), the ground truth standing in for
    # the la/ha labels, a narrow backbone.
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/psa/'
                 'affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py'))
    cfg.merge_from_dict({
        'model.backbone.base_channels': 8,
        'model.backbone.init_cfg': None,
        'model.in_channels': (16, 32, 64),
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': tiny_synthvoc,
        'train_dataloader.dataset.ir_label_dir':
        osp.join(tiny_synthvoc, 'SegmentationClass'),
    })
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    assert batch['inputs'][0].shape == (3, 128, 128)
    assert batch['data_samples'][0].gt_sem_seg.shape == (16, 16)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    before = [p.detach().clone() for p in runner.model.parameters()]
    runner.model.train()
    log_vars = runner.model.train_step(batch, optim_wrapper)
    assert set(log_vars) >= {'loss', 'loss_aff', 'bg_pos_aff', 'fg_pos_aff',
                             'neg_aff'}
    assert all(np.isfinite(float(v)) for v in log_vars.values())
    changed = [
        name for (name, p), b in zip(runner.model.named_parameters(), before)
        if not torch.equal(p.detach(), b)
    ]
    assert 'affinity_head.fuse.weight' in changed
    assert 'backbone.layer4.1.conv2.weight' in changed
    # stem and stage 1 frozen (PSA freezes its first blocks)
    assert 'backbone.conv1.weight' not in changed
    assert 'backbone.layer1.0.conv1.weight' not in changed
