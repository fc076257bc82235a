# Copyright (c) mmwsss contributors. All rights reserved.
import glob
import importlib
import os.path as osp
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample

from mmwsss.engine.hooks import DisplacementMeanShiftHook
from mmwsss.fileio import write_cam_file
from mmwsss.functional import affinity_labels, get_path_index, irn_losses
from mmwsss.models.irn import pair_labels
from mmwsss.registry import MODELS
from mmwsss.testing import param_groups_by_name
from mmwsss.testing.cam_samples import (bright_object_samples,
                                        cam_loaded_sample, label_grid_batch,
                                        predict_with_cams, seeded_model)

init_default_scope('mmpretrain')

TINY = dict(
    type='mmwsss.IRNet',
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(0, 1, 2, 3)),
    # the stem keeps 64 channels, the stages have base_channels * 2**i
    in_channels=(64, 8, 16, 32, 64),
    test_pad_size=64)


def _model(**overrides):
    return seeded_model(TINY, **overrides)


def _train_batch(model):
    # labels on the stride-4 grid
    return label_grid_batch(model, stride=4, ignore_rows=3)


def test_backbone_frozen_and_output_shapes():
    model = _model().train()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not model.backbone.training and model.edge_fuse.training
    edge, disp = model(torch.randn(2, 3, 64, 80), mode='tensor')
    assert edge.shape == (2, 1, 16, 20) and disp.shape == (2, 2, 16, 20)
    # odd sizes: upsampled taps are cropped to the stride-4 map
    edge, disp = model(torch.randn(1, 3, 70, 90), mode='tensor')
    assert edge.shape == (1, 1, 18, 23) and disp.shape == (1, 2, 18, 23)


def test_loss_matches_irn_losses_and_trains_only_the_branches():
    model = _model().train()
    data = _train_batch(model)
    losses = model(**data, mode='loss')
    edge, disp = model(data['inputs'], mode='tensor')
    labels = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    path_index = get_path_index(10, (24, 24))
    ref = irn_losses(edge, disp, *pair_labels(labels, path_index), path_index)
    torch.testing.assert_close(losses['loss_aff'] + losses['loss_dp'],
                               ref['loss_total'])
    torch.testing.assert_close(losses['dp_fg'], ref['loss_dp_fg'])
    (losses['loss_aff'] + losses['loss_dp']).backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert model.edge_fuse.weight.grad.abs().sum() > 0
    assert model.displacement_head[1].weight.grad.abs().sum() > 0


def test_loss_rejects_labels_of_the_wrong_grid():
    model = _model().train()
    data = _train_batch(model)
    for sample in data['data_samples']:
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, 96, 96))
    with pytest.raises(ValueError, match='DownsampleLabel'):
        model(**data, mode='loss')


def test_pair_labels_equal_the_functional_affinity_labels():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, (2, 20, 24)).astype(np.uint8)
    labels[labels == 3] = 255
    path_index = get_path_index(5, (20, 24))
    ours = pair_labels(torch.from_numpy(labels), path_index)
    for i in range(2):
        for mine, ref in zip(ours, affinity_labels(labels[i], path_index)):
            assert np.array_equal(mine[i].numpy(), ref)


def test_displacement_branch_gets_ten_times_the_lr():
    model = _model()
    wrapper = build_optim_wrapper(
        model,
        dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=1e-4),
            paramwise_cfg=dict(
                custom_keys={'displacement_': dict(lr_mult=10.0)})))
    groups = param_groups_by_name(model, wrapper.optimizer)
    assert groups['displacement_head.1.weight']['lr'] == pytest.approx(1.0)
    assert groups['displacement_taps.0.0.weight']['lr'] == pytest.approx(1.0)
    assert groups['edge_fuse.weight']['lr'] == pytest.approx(0.1)


def _walk_cams():
    strided = np.zeros((2, 8, 11), np.float32)
    strided[0, :4, :5] = 1
    strided[1, 5:, 6:] = 0.8
    return dict(keys=np.array([1, 4]), strided=strided)


def test_predict_is_flip_equivariant_and_cropped():
    model = _model().eval()
    img = torch.randint(0, 255, (3, 37, 50), dtype=torch.uint8)
    out = predict_with_cams(model, img)
    assert out.irn_edge.shape == (10, 13)
    assert out.irn_displacement.shape == (2, 10, 13)
    assert 0 <= out.irn_edge.min() and out.irn_edge.max() <= 1
    flipped = predict_with_cams(model, img.flip(-1))
    torch.testing.assert_close(flipped.irn_edge, out.irn_edge.flip(-1))


def test_mean_shift_is_estimated_subtracted_and_set_by_the_hook():
    model = _model().train()
    batches = [
        dict(
            inputs=list(
                torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.uint8)))
    ]
    mean = model.estimate_mean_shift(batches)
    assert model.training and not model.backbone.training
    model.eval()
    inputs = model.data_preprocessor(batches[0], False)['inputs']
    _, disp = model(inputs, mode='tensor')
    torch.testing.assert_close(
        disp.mean(dim=(0, 2, 3)), torch.zeros(2), atol=1e-5, rtol=0)
    model.displacement_mean.zero_()
    runner = SimpleNamespace(
        model=model,
        epoch=2,
        max_epochs=3,
        train_loop=object(),
        logger=SimpleNamespace(info=lambda msg: None))
    hook = DisplacementMeanShiftHook(dataloader=batches)
    hook.after_train_epoch(SimpleNamespace(**{**vars(runner), 'epoch': 0}))
    assert model.displacement_mean.abs().sum() == 0  # not the last epoch
    hook.after_train_epoch(runner)
    torch.testing.assert_close(model.displacement_mean, mean)


def test_random_walk_pseudo_mask(tmp_path):
    model = _model(type='mmwsss.IRNetRandomWalk', exp_times=3).eval()
    img = torch.randint(0, 255, (3, 30, 41), dtype=torch.uint8)
    cams = _walk_cams()
    write_cam_file(str(tmp_path / 'im.npz'), **cams)
    sample = cam_loaded_sample(tmp_path, 'im', ('keys', 'strided'), img)
    data = model.data_preprocessor(
        dict(inputs=[img], data_samples=[sample]), False)
    out = model(**data, mode='predict')[0]
    label = out.pred_sem_seg.data
    assert label.shape == (1, 30, 41)
    assert set(np.unique(label.numpy())) <= {0, 2, 5}
    assert label[0, 0, 0] == 2 and label[0, -1, -1] == 5
    assert torch.equal(label, predict_with_cams(model, img, cams).pred_sem_seg.data)


def test_random_walk_needs_matching_cams():
    model = _model(type='mmwsss.IRNetRandomWalk')
    model.eval()
    img = torch.randint(0, 255, (3, 30, 41), dtype=torch.uint8)
    with pytest.raises(KeyError, match='LoadCAMFile'):
        predict_with_cams(model, img)
    with pytest.raises(ValueError, match='boundary map'):
        predict_with_cams(model, img, dict(keys=np.array([0]),
                                  strided=np.ones((1, 5, 5), np.float32)))


def test_deprecated_cam_dir_reads_the_files(tmp_path):
    img = torch.randint(0, 255, (3, 30, 41), dtype=torch.uint8)
    cams = _walk_cams()
    write_cam_file(str(tmp_path / 'im.npz'), **cams)
    with pytest.warns(DeprecationWarning, match='mmwsss.LoadCAMFile'):
        old = _model(
            type='mmwsss.IRNetRandomWalk', cam_dir=str(tmp_path),
            exp_times=3).eval()
    new = _model(type='mmwsss.IRNetRandomWalk', exp_times=3).eval()
    expected = predict_with_cams(new, img, cams).pred_sem_seg.data
    assert torch.equal(predict_with_cams(old, img).pred_sem_seg.data, expected)
    # the model's own cam_dir wins over CAMs the pipeline loaded
    other = dict(keys=np.array([0]), strided=np.ones((1, 8, 11), np.float32))
    assert torch.equal(predict_with_cams(old, img, other).pred_sem_seg.data, expected)
    with pytest.warns(DeprecationWarning, match="'keys', 'high_res'"):
        generator = MODELS.build(
            dict(type='mmwsss.IRLabelGenerator', cam_dir=str(tmp_path)))
    inputs, samples = bright_object_samples(tmp_path, names=('a', ))
    bare = [DataSample(metainfo=dict(img_id='a'))]
    out = generator.test_step(dict(inputs=inputs, data_samples=bare))
    expected = MODELS.build(dict(type='mmwsss.IRLabelGenerator')).test_step(
        dict(inputs=inputs, data_samples=samples))
    assert torch.equal(out[0].pred_sem_seg.data, expected[0].pred_sem_seg.data)


@pytest.mark.parametrize('crf', [False, True])
def test_ir_label_generator(tmp_path, crf):
    inputs, samples = bright_object_samples(tmp_path)
    model = MODELS.build(dict(type='mmwsss.IRLabelGenerator', crf=crf))
    out = model.test_step(dict(inputs=inputs, data_samples=samples))
    label = out[0].pred_sem_seg.data[0].numpy()
    assert label.shape == (20, 24)
    assert label[10, 12] == 3 and label[0, 0] == 0
    if not crf:
        # 0.1 lies between the thresholds: unknown
        assert label[5, 6] == 255 and (label == 3).sum() == 80
    pooled = MODELS.build(
        dict(type='mmwsss.IRLabelGenerator', crf=crf, num_workers=2))
    _, samples2 = bright_object_samples(tmp_path)
    out2 = pooled.test_step(dict(inputs=inputs, data_samples=samples2))
    for a, b in zip(out, out2):
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)


def test_ir_label_generator_passes_crf_cfg(tmp_path):

    def label(**kwargs):
        inputs, samples = bright_object_samples(tmp_path, names=('a', ))
        model = MODELS.build(dict(type='mmwsss.IRLabelGenerator', **kwargs))
        out = model.test_step(dict(inputs=inputs, data_samples=samples))
        return out[0].pred_sem_seg.data

    # a CRF without pairwise weight returns its unary's labels
    unary_only = label(crf_cfg=dict(gaussian_compat=0, bilateral_compat=0))
    assert torch.equal(unary_only, label(crf=False))
    with pytest.raises(ValueError, match="'bilateral_sigma'"):
        MODELS.build(
            dict(
                type='mmwsss.IRLabelGenerator',
                crf_cfg=dict(bilateral_sigma=15)))
    with pytest.raises(ValueError, match='crf=False'):
        MODELS.build(
            dict(
                type='mmwsss.IRLabelGenerator',
                crf=False,
                crf_cfg=dict(bilateral_sxy=15)))


def test_ir_label_generator_checks_inputs_and_ignores_checkpoints(tmp_path):
    inputs, samples = bright_object_samples(tmp_path, names=('a', ))
    model = MODELS.build(dict(type='mmwsss.IRLabelGenerator'))
    with pytest.raises(TypeError, match='uint8'):
        model(inputs=[inputs[0].float()], data_samples=samples)
    with pytest.raises(KeyError, match='LoadCAMFile'):
        model(
            inputs=inputs,
            data_samples=[DataSample(metainfo=dict(img_id='zz'))])
    small = samples[0].clone()
    small.cam_high_res = small.cam_high_res[:, 1:]
    with pytest.raises(ValueError, match='but the image is'):
        model(inputs=inputs, data_samples=[small])
    with pytest.raises(ValueError, match='predict'):
        model(inputs=inputs, data_samples=samples, mode='loss')
    # no weights: any checkpoint loads, even strictly
    model.load_state_dict({'backbone.conv1.weight': torch.zeros(1)})


def test_irn_configs_build(repo_root):
    files = sorted(glob.glob(osp.join(repo_root, 'configs/irn/*.py')))
    # the Mask R-CNN configs on IRN's instance masks are mmdet's
    mask_rcnn = [p for p in files if osp.basename(p).startswith('mask-rcnn')]
    assert len(files) == 13 and len(mask_rcnn) == 2
    for path in mask_rcnn:
        assert Config.fromfile(path).default_scope == 'mmdet'
    for path in sorted(set(files) - set(mask_rcnn)):
        cfg = Config.fromfile(path)
        assert cfg.default_scope == 'mmpretrain'
        model = MODELS.build(cfg.model)
        assert type(model).__name__ == cfg.model.type.split('.')[-1]
        if 'train_dataloader' in cfg:
            assert cfg.optim_wrapper.paramwise_cfg.custom_keys
        else:
            assert cfg.test_cfg.type == 'mmwsss.ResumableTestLoop'


def test_random_walk_dtype_config(monkeypatch):
    irnet_module = importlib.import_module('mmwsss.models.irn.irnet')
    walk = irnet_module.random_walk
    dtypes = []

    def recording_walk(*args, **kwargs):
        dtypes.append(kwargs['dtype'])
        return walk(*args, **kwargs)

    monkeypatch.setattr(irnet_module, 'random_walk', recording_walk)
    img = torch.randint(0, 255, (3, 30, 41), dtype=torch.uint8)
    labels = [
        predict_with_cams(
            _model(type='mmwsss.IRNetRandomWalk', exp_times=3,
                   **walk_dtype).eval(), img, _walk_cams()).pred_sem_seg.data
        for walk_dtype in ({}, dict(walk_dtype='float32'))
    ]
    assert dtypes == [torch.float64, torch.float32]
    assert torch.equal(labels[0], labels[1])
    with pytest.raises(ValueError, match='float32 or float64'):
        _model(type='mmwsss.IRNetRandomWalk', walk_dtype='float16')
