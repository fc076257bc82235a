# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNetClassifier: draws, aggregation, per-image seeding, edge cases,
batched draws, host transfers, CPU vs CUDA."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.datasets.transforms import MultiScaleResize, PackCAMInputs
from mmwsss.functional import (aggregate_cam_draws, ficklenet_conv,
                               merge_multiscale_cams, window_dropout_mask)
from mmwsss.registry import MODELS
from mmwsss.testing import count_host_syncs, device_like_inputs

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


def _stacked_draws_reference(model, scales, sample):
    """The maps as computed before draws were batched and merged on the
    fly: every chunk's masks applied at once, all draws stacked, then
    aggregated."""
    gen = model._generator(sample, torch.device('cpu'))
    keys = sample.gt_label.long().flatten()
    feats = [
        model.extract_feat(torch.stack([img, img.flip(-1)]))[-1]
        for img in scales
    ]
    weight, bias = model.head.classifier.weight, model.head.classifier.bias
    strided, high_res = [], []
    for start in range(0, model.num_draws, model.draw_chunk):
        n = min(model.draw_chunk, model.num_draws - start)
        raws = []
        for x in feats:
            mask = window_dropout_mask(
                n * 2, x.shape[-2:], 3, 0.8,
                generator=gen).unflatten(0, (n, 2))
            raws.append(
                ficklenet_conv(x, weight, mask, bias).unflatten(0, (n, 2)))
        for d in range(n):
            s, h = merge_multiscale_cams([r[d] for r in raws],
                                         tuple(sample.ori_shape), keys)
            strided.append(s)
            high_res.append(h)
    return (aggregate_cam_draws(torch.stack(strided), model.aggregation),
            aggregate_cam_draws(torch.stack(high_res), model.aggregation))


@pytest.mark.parametrize('draws_per_batch', [1, 2, 5])
@pytest.mark.parametrize('aggregation', ['max', 'mean'])
def test_chunked_draws_equal_unchunked(plain, draws_per_batch, aggregation):
    # 7 draws in chunks of 5: the head batches 1, 2 or all 5 at a time
    model = _stochastic(
        plain, num_draws=7, draw_chunk=5, seed=2, aggregation=aggregation)
    model.head.draws_per_batch = draws_per_batch
    scales, sample = _scales(), _sample([0, 3, 5])
    with torch.no_grad():
        out = model.predict_cams(scales, copy.deepcopy(sample))
        strided, high_res = _stacked_draws_reference(model, scales, sample)
    if aggregation == 'max':
        # the running max on the device is bit-identical to the stack's
        assert torch.equal(out.cam_strided, strided)
        assert torch.equal(out.cam_high_res, high_res)
    else:
        # a running sum: the stacked mean up to float rounding
        torch.testing.assert_close(out.cam_strided, strided)
        torch.testing.assert_close(out.cam_high_res, high_res)
    assert not torch.equal(out.cam_high_res, plain.predict_cams(
        scales, copy.deepcopy(sample)).cam_high_res)


def _packed_item(labels, name, shape=(29, 34), seed=1):
    """A packed multi-scale test item, as the CAM test pipeline makes it."""
    rng = np.random.default_rng(seed)
    results = dict(
        img=rng.integers(0, 256, (*shape, 3), dtype=np.uint8),
        gt_label=np.asarray(labels),
        ori_shape=shape,
        img_shape=shape,
        img_id=name,
        img_path=f'x/{name}.jpg')
    results = MultiScaleResize(scales=(1.0, 0.5)).transform(results)
    return PackCAMInputs().transform(results)


def _batch():
    return pseudo_collate([
        _packed_item([1, 4], 'a'),
        _packed_item([0, 2, 5], 'b', shape=(33, 27), seed=2)
    ])


@pytest.mark.parametrize('num_draws', [2, 6])
def test_test_step_on_device_like_inputs(plain, num_draws):
    """tools/test.py's path with inputs that live "on a GPU": the outputs
    reach the CPU, the host waits for the device only when the whole batch
    is computed, whatever the number of draws."""
    model = _stochastic(plain, num_draws=num_draws, draw_chunk=2)
    draw_cams, syncs_while_drawing = model.draw_cams, []

    def draw_cams_counted(*args):
        with count_host_syncs() as syncs:
            out = draw_cams(*args)
        syncs_while_drawing.append(syncs['count'])
        return out

    with torch.no_grad():
        expected = model.test_step(_batch())
        model.draw_cams = draw_cams_counted
        with device_like_inputs(), count_host_syncs() as syncs:
            outputs = model.test_step(_batch())
    assert syncs_while_drawing == [0, 0]
    # then per image: score, strided and high-res maps, each moved once
    # (the labels come from the data samples on the CPU)
    assert syncs['ops'] == ['cpu'] * 6
    for out, ref in zip(outputs, expected):
        for key in ('pred_score', 'pred_label', 'cam_keys', 'cam_strided',
                    'cam_high_res'):
            value = out.get(key)
            assert type(value) is torch.Tensor, key  # not device-like
            assert torch.equal(value, ref.get(key)), key
    assert outputs[1].cam_high_res.shape == (3, 33, 27)


@pytest.mark.gpu
def test_cuda_maps_equal_cpu_maps_with_cpu_drawn_masks(plain):
    """With a CPU mask generator a CUDA job draws the CPU job's masks: the
    maps agree up to float rounding (TF32 off; maps are in [0, 1]). With the
    device's own generator they differ (CUDA's random stream is another)."""
    model = _stochastic(
        plain, num_draws=6, draw_chunk=4, generator_device='cpu')
    on_cuda = copy.deepcopy(model).cuda()
    tf32 = (torch.backends.cudnn.allow_tf32,
            torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.no_grad():
            expected = model.test_step(_batch())
            outputs = on_cuda.test_step(_batch())
            on_cuda.generator_device = None
            cuda_drawn = on_cuda.test_step(_batch())
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = tf32
    for out, ref, other in zip(outputs, expected, cuda_drawn):
        assert out.cam_high_res.device.type == 'cpu'
        assert torch.equal(out.cam_keys, ref.cam_keys)
        for key in ('cam_strided', 'cam_high_res', 'pred_score'):
            torch.testing.assert_close(
                out.get(key), ref.get(key), atol=1e-4, rtol=0)
        assert not torch.allclose(
            other.cam_high_res, ref.cam_high_res, atol=1e-4, rtol=0)
