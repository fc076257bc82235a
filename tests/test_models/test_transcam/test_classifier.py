# Copyright (c) mmwsss contributors. All rights reserved.
import copy

import pytest
import torch
from mmpretrain.structures import DataSample

from mmwsss.functional import normalize_transcam_inference, transcam_cam
from mmwsss.registry import MODELS
from mmwsss.testing import count_host_syncs, device_like_inputs

TINY = dict(
    type='mmwsss.TransCAMClassifier',
    num_classes=4,
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=4,
        mean=[120., 110., 100.],
        std=[60., 60., 60.],
        to_onehot=True),
    backbone=dict(
        type='mmwsss.AttnConformer',
        arch=dict(embed_dims=32, depths=3, num_heads=2, channel_ratio=1),
        base_channels=16))


def _model(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(copy.deepcopy(TINY), **kwargs))
    model.eval()
    return model


def _sample(labels, shape):
    sample = DataSample().set_gt_label(labels)
    sample.set_metainfo(dict(ori_shape=shape, img_path='x/img.jpg'))
    return sample


def _batch(model):
    torch.manual_seed(1)
    inputs = torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8)
    samples = [_sample([i % 4], (32, 32)) for i in range(4)]
    return model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)


def test_training_reduces_the_loss():
    model = _model(bnr=True)
    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = _batch(model)
    totals = []
    for _ in range(6):
        losses = model(**data, mode='loss')
        loss = sum(losses.values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        totals.append(loss.item())
    assert totals[-1] < totals[0]


def test_bnr_loss_term_present_absent_and_weighted():
    data = _batch(_model())
    plain = _model()(**data, mode='loss')
    assert set(plain) == {'loss_cls'}
    full = _model(bnr=True)(**data, mode='loss')
    half = _model(bnr=True, bnr_loss_weight=0.5)(**data, mode='loss')
    assert set(full) == {'loss_cls', 'loss_bnr'}
    # eval mode (no drop path): the BNR term leaves the TransCAM loss alone
    torch.testing.assert_close(full['loss_cls'], plain['loss_cls'])
    torch.testing.assert_close(half['loss_bnr'], 0.5 * full['loss_bnr'])
    assert full['loss_bnr'] > 0
    # the BNR loss reaches the attention (not detached in the TransCAM map)
    model = _model(bnr=True)
    model(**data, mode='loss')['loss_bnr'].backward()
    assert model.backbone.trans_1.attn.qkv.weight.grad.abs().sum() > 0
    assert model.trans_head.weight.grad is None


def _raw_scales(labels=(3, 1), h=45, w=38, sizes=(32, 64)):
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    scales = [
        torch.nn.functional.interpolate(img[None].float(),
                                        (s, s))[0].to(torch.uint8)
        for s in sizes
    ]
    return scales, _sample(list(labels), (h, w))


def _multiscale(model, labels=(3, 1), h=45, w=38):
    torch.manual_seed(2)
    scales, sample = _raw_scales(labels, h, w)
    return model.data_preprocessor(
        dict(inputs=[scales], data_samples=[sample]))


@torch.no_grad()
def test_multiscale_cams_match_the_functional_core():
    model = _model()
    data = _multiscale(model)
    out = model.predict(data['inputs'], copy.deepcopy(data['data_samples']))[0]
    assert out.cam_keys.tolist() == [3, 1]
    assert out.cam_strided.shape == (2, 12, 10)
    assert out.cam_high_res.shape == (2, 45, 38)
    assert out.cam_high_res.min() >= 0 and out.cam_high_res.max() < 1
    # the same from stacked per-layer attention and the reference fusion
    maps = []
    for img in data['inputs'][0]:
        pair = torch.stack([img, img.flip(-1)])
        feats = model.backbone.forward_attention(pair, keep_layers=True)
        maps += list(
            transcam_cam(
                torch.stack(feats['layers']),
                model.conv_head(feats['conv_map'])))
    label = torch.tensor([0., 1., 0., 1.])
    ref = normalize_transcam_inference(maps, [False, True] * 2, (45, 38),
                                       label)
    torch.testing.assert_close(out.cam_high_res, ref[[3, 1]].clamp(min=0))
    # scores of the unflipped first scale
    plain = model.predict(data['inputs'][0][0][None])[0]
    torch.testing.assert_close(out.pred_score, plain.pred_score)


@torch.no_grad()
def test_an_image_whose_cams_are_all_zero():
    model = _model(cam_method='convcam')
    torch.nn.init.zeros_(model.conv_head.weight)
    torch.nn.init.zeros_(model.conv_head.bias)
    data = _multiscale(model, labels=(0, ))
    out = model.predict(data['inputs'], data['data_samples'])[0]
    # the reference maps such a class to -1 everywhere; files hold 0
    assert torch.equal(out.cam_high_res, torch.zeros(1, 45, 38))
    assert torch.equal(out.cam_strided, torch.zeros(1, 12, 10))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match='cam_method'):
        _model(cam_method='gradcam')
    model = _model()
    data = _multiscale(model, labels=())
    with pytest.raises(ValueError, match='empty label set'):
        model.predict(data['inputs'], data['data_samples'])


@torch.no_grad()
def test_square_test_sizes():
    """Squares of the first scale replace the given scales; the maps still
    come back at the original size."""
    data = _multiscale(_model())
    original = data['inputs'][0][0]
    squares = [
        torch.nn.functional.interpolate(
            original[None], (s, s),
            mode='bicubic',
            align_corners=False,
            antialias=True)[0] for s in (32, 48)
    ]
    model = _model(test_sizes=(32, 48))
    out = model.predict([[original]], copy.deepcopy(data['data_samples']))[0]
    ref = _model().predict([squares], data['data_samples'])[0]
    assert out.cam_high_res.shape == (2, 45, 38)
    torch.testing.assert_close(out.cam_high_res, ref.cam_high_res)


def _device_like_test_step(model, data):
    """``test_step`` on CPU and on device-like inputs: outputs and syncs."""
    expected = model.test_step(copy.deepcopy(data))
    with device_like_inputs(), count_host_syncs() as syncs:
        out = model.test_step(copy.deepcopy(data))
    for got, ref in zip(out, expected):
        for key in ('pred_score', 'pred_label', 'cam_keys', 'cam_strided',
                    'cam_high_res'):
            if key in ref:
                # Plain tensors: on the host, ready for the writers.
                assert type(got.get(key)) is torch.Tensor, key
                assert torch.equal(got.get(key), ref.get(key)), key
    return syncs['ops']


@torch.no_grad()
def test_test_step_on_device_like_inputs():
    model = _model()
    ops = []
    for num_scales in (1, 3):
        torch.manual_seed(3)
        images = [
            _raw_scales(labels, h, w, sizes=(32, 48, 64)[:num_scales])
            for labels, h, w in (((3, 1), 45, 38), ((0, ), 40, 52))
        ]
        ops.append(
            _device_like_test_step(
                model,
                dict(
                    inputs=[scales for scales, _ in images],
                    data_samples=[sample for _, sample in images])))
    # Only host copies of what the writers read: the scores, both maps
    # (and the keys where the labels were on the device) of each image,
    # after the batch; their number does not grow with the scales.
    assert ops[0] == ops[1]
    assert set(ops[0]) == {'cpu'} and 3 * 2 <= len(ops[0]) <= 4 * 2


@torch.no_grad()
def test_classification_test_step_on_device_like_inputs():
    model = _model()
    torch.manual_seed(4)
    data = dict(
        inputs=list(torch.randint(0, 255, (3, 3, 32, 32), dtype=torch.uint8)),
        data_samples=[_sample([i], (32, 32)) for i in range(3)])
    # One host copy of the batch's scores.
    assert _device_like_test_step(model, data) == ['cpu']
