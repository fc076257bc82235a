# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNetClassifier: draws, aggregation, per-image seeding, edge cases."""
import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.functional import (ficklenet_conv, merge_multiscale_cams,
                               window_dropout_mask)
from mmwsss.registry import MODELS

init_default_scope('mmpretrain')

CAM = dict(
    type='mmwsss.CAMClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=6,
        mean=[120., 110., 100.],
        std=[60., 60., 60.],
        to_rgb=False,
        to_onehot=True),
    backbone=dict(
        type='mmpretrain.ResNet',
        depth=18,
        base_channels=8,
        strides=(1, 2, 2, 1),
        out_indices=(3, )),
    head=dict(type='mmwsss.CAMHead', num_classes=6, in_channels=64))


def _fickle(**kwargs):
    cfg = copy.deepcopy(CAM)
    cfg.update(type='mmwsss.FickleNetClassifier', **kwargs)
    cfg['head'].update(type='mmwsss.FickleNetCAMHead', drop_prob=0.8)
    return MODELS.build(cfg).eval()


@pytest.fixture(scope='module')
def plain():
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(CAM))
    model.init_weights()
    return model.eval()


def _sample(labels, shape=(40, 44), name='img'):
    sample = DataSample().set_gt_label(labels)
    sample.set_metainfo(dict(ori_shape=shape, img_path=f'x/{name}.jpg'))
    return sample


def _scales(shape=(40, 44), seed=0):
    g = torch.Generator().manual_seed(seed)
    full = torch.randn(3, *shape, generator=g)
    return [full, full[:, ::2, ::2].contiguous()]


@pytest.mark.parametrize('labels', [[2], [0, 1, 3, 4, 5]])
def test_starts_as_the_plain_cam_classifier(plain, labels):
    # a CAMHead checkpoint loads into the centre taps: every draw is the CAM
    model = _fickle(num_draws=3, draw_chunk=2)
    model.load_state_dict(plain.state_dict())
    with torch.no_grad():
        ref = plain.predict_cams(_scales(), _sample(labels))
        out = model.predict_cams(_scales(), _sample(labels))
    assert out.cam_keys.tolist() == labels
    torch.testing.assert_close(out.cam_strided, ref.cam_strided)
    torch.testing.assert_close(out.cam_high_res, ref.cam_high_res)
    torch.testing.assert_close(out.pred_score, ref.pred_score)


def _stochastic(plain, **kwargs):
    model = _fickle(**kwargs)
    model.load_state_dict(plain.state_dict())
    g = torch.Generator().manual_seed(1)
    weight = model.head.classifier.weight.data
    weight += 0.05 * torch.randn(weight.shape, generator=g)
    return model


def test_maps_are_the_max_over_independently_drawn_maps(plain):
    model = _stochastic(plain, num_draws=4, draw_chunk=4, seed=3)
    scales, sample = _scales(), _sample([1, 4])
    with torch.no_grad():
        out = model.predict_cams(scales, copy.deepcopy(sample))
        # the same draws by hand: one generator, 4 draws per scale
        gen = model._generator(sample, torch.device('cpu'))
        weight = model.head.classifier.weight
        raws = []
        for img in scales:
            x = model.extract_feat(torch.stack([img, img.flip(-1)]))[-1]
            mask = window_dropout_mask(
                8, x.shape[-2:], 3, 0.8, generator=gen).unflatten(0, (4, 2))
            raws.append(ficklenet_conv(x, weight, mask).unflatten(0, (4, 2)))
        draws = [
            merge_multiscale_cams([r[d] for r in raws], (40, 44), [1, 4])
            for d in range(4)
        ]
    strided = torch.stack([d[0] for d in draws])
    high_res = torch.stack([d[1] for d in draws])
    torch.testing.assert_close(out.cam_strided, strided.amax(0))
    torch.testing.assert_close(out.cam_high_res, high_res.amax(0))
    # the draws differ, and the max covers more than any single draw
    assert not torch.allclose(high_res[0], high_res[1])
    area = (out.cam_high_res >= 0.3).sum()
    assert all(area >= (h >= 0.3).sum() for h in high_res)


def test_masks_are_seeded_by_image_id(plain):
    model = _stochastic(plain, num_draws=2)
    with torch.no_grad():
        a = model.predict_cams(_scales(), _sample([0, 2], name='a'))
        a2 = model.predict_cams(_scales(), _sample([0, 2], name='a'))
        b = model.predict_cams(_scales(), _sample([0, 2], name='b'))
        model.seed = 1
        a_other_seed = model.predict_cams(_scales(), _sample([0, 2], name='a'))
    assert torch.equal(a.cam_high_res, a2.cam_high_res)
    assert not torch.allclose(a.cam_high_res, b.cam_high_res)
    assert not torch.allclose(a.cam_high_res, a_other_seed.cam_high_res)


def test_all_zero_class_and_empty_label_set(plain):
    model = _stochastic(plain, num_draws=2, aggregation='mean')
    model.head.classifier.weight.data[3] = 0  # class 3 never activates
    with torch.no_grad():
        out = model.predict_cams(_scales(), _sample([0, 1, 2, 3, 5]))
    assert out.cam_high_res.shape == (5, 40, 44)
    assert out.cam_strided.shape == (5, 10, 11)
    assert torch.all(out.cam_high_res[3] == 0)
    assert torch.all(out.cam_strided[3] == 0)
    assert torch.isfinite(out.cam_high_res).all()
    assert 0.99 < out.cam_high_res[0].max() < 1
    with pytest.raises(ValueError, match='empty label set'):
        model.predict_cams(_scales(), _sample([]))
    with pytest.raises(ValueError):
        _fickle(aggregation='union')
