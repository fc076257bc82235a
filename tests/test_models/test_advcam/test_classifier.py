# Copyright (c) mmwsss contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.functional import advcam_multiscale_cams
from mmwsss.registry import MODELS
from mmwsss.testing import (DeviceLikeTensor, count_host_syncs,
                            device_like_inputs)

init_default_scope('mmpretrain')

NUM_CLASSES = 6
CAM_SCALES = (1.0, 0.5, 1.5)
TINY = dict(
    type='mmwsss.AdvCAMClassifier',
    adv_iter=3,
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=NUM_CLASSES,
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
    head=dict(type='mmwsss.CAMHead', num_classes=NUM_CLASSES, in_channels=64))


@pytest.fixture(scope='module', autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(**kwargs):
    torch.manual_seed(0)
    cfg = copy.deepcopy(TINY)
    cfg.update(kwargs)
    if cfg['type'] == 'mmwsss.CAMClassifier':
        del cfg['adv_iter']
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _image(h=36, w=44, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 255, (3, h, w), dtype=torch.uint8, generator=gen)


def _resize(img, scale):
    size = [round(s * scale) for s in img.shape[1:]]
    return torch.nn.functional.interpolate(
        img[None].float(), size, mode='bilinear',
        align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)


def _predict(model, labels, img=None, cam_scales=CAM_SCALES):
    img = _image() if img is None else img
    sample = DataSample().set_gt_label(labels)
    sample.set_metainfo(
        dict(
            ori_shape=tuple(img.shape[1:]),
            img_path='x/img.jpg',
            cam_scales=cam_scales))
    data = model.data_preprocessor(
        dict(
            inputs=[[_resize(img, s) for s in cam_scales]],
            data_samples=[sample]))
    with torch.no_grad():  # as in the test loop
        return model.predict(data['inputs'], data['data_samples'])[0], data


def _assert_same_cams(a, b, atol=1e-5):
    assert a.cam_keys.tolist() == b.cam_keys.tolist()
    torch.testing.assert_close(a.cam_strided, b.cam_strided, atol=atol,
                               rtol=0)
    torch.testing.assert_close(a.cam_high_res, b.cam_high_res, atol=atol,
                               rtol=0)


def test_wires_the_functional_core_under_no_grad():
    # T = 6: 5 steps at scale 0.5, so the scales must be matched right
    model = _model(adv_iter=6)
    flags = [p.requires_grad for p in model.parameters()]
    out, data = _predict(model, [4, 1])
    h, w = out.ori_shape
    assert out.cam_keys.tolist() == [4, 1]
    assert out.cam_strided.shape == (2, (h - 1) // 4 + 1, (w - 1) // 4 + 1)
    assert out.cam_high_res.shape == (2, h, w)
    assert out.cam_high_res.max() < 1 and out.cam_strided.min() >= 0
    # parameters restored, nothing accumulated into them
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    # the image + flip pair of every scale, the metainfo scales, the
    # classifier input as Grad-CAM features
    pairs = [torch.stack([x, x.flip(-1)]) for x in data['inputs'][0]]
    strided, high_res = advcam_multiscale_cams(
        model._raw_cams_and_features, pairs, CAM_SCALES, (h, w), [4, 1],
        adv_iter=6, classifier_weight=model.head.classifier.weight)
    torch.testing.assert_close(out.cam_strided, strided, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.cam_high_res, high_res, atol=1e-6, rtol=0)
    # the climb changes the maps
    assert (out.cam_high_res - _predict(_model(adv_iter=1), [4, 1])[0]
            .cam_high_res).abs().max() > 1e-3
    # scores are those of the plain classifier
    plain = _model(type='mmwsss.CAMClassifier')
    torch.testing.assert_close(out.pred_score,
                               _predict(plain, [4, 1])[0].pred_score)


def test_one_step_at_one_scale_is_the_plain_cam():
    """T = 1 keeps x_0; with a flip-equivariant network both copies have
    the same positive area, so the Grad-CAM map is the plain CAM times a
    constant, which the max normalisation removes."""

    class Pointwise(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 64, 1)

        def forward(self, x):
            return (self.conv(x).relu(), )

    adv, plain = _model(adv_iter=1), _model(type='mmwsss.CAMClassifier')
    plain.load_state_dict(adv.state_dict())
    adv.backbone = plain.backbone = Pointwise()
    img = _image(40, 48)
    ours = _predict(adv, [0, 3], img, (1.0, ))[0]
    ref = _predict(plain, [0, 3], img, (1.0, ))[0]
    assert ours.cam_keys.tolist() == ref.cam_keys.tolist() == [0, 3]
    # up to the max normalisation's + 1e-5, which is not scale-free
    for key in ('cam_strided', 'cam_high_res'):
        a, b = ours.get(key), ref.get(key)
        assert a.amax((1, 2)).min() > 0.5
        torch.testing.assert_close(
            a / a.amax((1, 2), keepdim=True),
            b / b.amax((1, 2), keepdim=True),
            atol=1e-5,
            rtol=0)


@pytest.mark.parametrize('labels', [[2], [0, 2, 3, 4, 5]])
def test_one_and_five_classes_batched_equal_per_class(labels):
    model = _model()
    batched = _predict(model, labels)[0]
    assert batched.cam_keys.tolist() == labels
    # every class fires (class 1 of this network does not)
    assert batched.cam_high_res.amax((1, 2)).min() > 0.9
    for row, label in enumerate(labels):
        alone = _predict(model, [label])[0]
        torch.testing.assert_close(batched.cam_high_res[row],
                                   alone.cam_high_res[0], atol=1e-5, rtol=0)
        torch.testing.assert_close(batched.cam_strided[row],
                                   alone.cam_strided[0], atol=1e-5, rtol=0)
    chunked = _model(max_classes_per_batch=2)
    _assert_same_cams(batched, _predict(chunked, labels)[0])


@pytest.mark.parametrize('labels', [[2], [0, 2, 3, 4, 5]])
def test_one_backward_equals_the_reference_two_backwards(labels):
    _assert_same_cams(
        _predict(_model(), labels)[0],
        _predict(_model(one_backward=False), labels)[0],
        atol=1e-4)


@pytest.mark.parametrize('one_backward', [True, False])
def test_class_with_an_all_zero_cam(one_backward):
    model = _model(one_backward=one_backward)
    # ResNet features are >= 0: negative weights make class 3 never fire
    with torch.no_grad():
        weight = model.head.classifier.weight
        weight[3] = -weight[3].abs()
    out = _predict(model, [0, 3, 4])[0]
    assert torch.isfinite(out.cam_high_res).all()
    assert torch.isfinite(out.cam_strided).all()
    assert out.cam_high_res[1].abs().max() == 0
    assert out.cam_strided[1].abs().max() == 0
    assert out.cam_high_res[[0, 2]].amax((1, 2)).min() > 0.9
    # the zero class does not disturb the others
    others = _predict(model, [0, 4])[0]
    torch.testing.assert_close(out.cam_high_res[[0, 2]], others.cam_high_res,
                               atol=1e-5, rtol=0)
    # an image whose only class is all zero
    only = _predict(model, [3])[0]
    assert only.cam_high_res.abs().max() == 0


def test_input_errors():
    model = _model()
    with pytest.raises(ValueError, match='empty label set'):
        _predict(model, [])
    img = _image()
    sample = DataSample().set_gt_label([1])
    sample.set_metainfo(dict(ori_shape=tuple(img.shape[1:])))
    data = model.data_preprocessor(
        dict(inputs=[[img]], data_samples=[sample]))
    with pytest.raises(ValueError, match='cam_scales'):
        model.predict(data['inputs'], data['data_samples'])
    with pytest.raises(ValueError, match='one_backward'):
        _model(head=dict(TINY['head'], bias=True))
    # with a bias the reference's Grad-CAM path still runs
    out = _predict(_model(one_backward=False,
                          head=dict(TINY['head'], bias=True)), [0, 2])[0]
    assert torch.isfinite(out.cam_high_res).all()


def test_batch_transposed_by_pseudo_collate():
    """tools/test.py delivers ``inputs[scale][image]`` (mmengine's
    pseudo_collate transposes the per-item scale lists); the data
    preprocessor arranges them per image."""
    from mmengine.dataset import pseudo_collate
    model = _model()
    images, items = [_image(36, 44, 0), _image(40, 32, 1)], []
    for img, labels in zip(images, ([0, 2], [5])):
        sample = DataSample().set_gt_label(labels)
        sample.set_metainfo(
            dict(ori_shape=tuple(img.shape[1:]), cam_scales=CAM_SCALES))
        items.append(
            dict(
                inputs=[_resize(img, s) for s in CAM_SCALES],
                data_samples=sample))
    batch = pseudo_collate(items)
    assert len(batch['inputs']) == len(CAM_SCALES)
    data = model.data_preprocessor(batch)
    assert [len(scales) for scales in data['inputs']] == [3, 3]
    with torch.no_grad():
        outs = model.predict(data['inputs'], data['data_samples'])
    assert len(outs) == 2
    for out, img, labels in zip(outs, images, ([0, 2], [5])):
        _assert_same_cams(out, _predict(model, labels, img)[0])


def _batch(images, labels, cam_scales=CAM_SCALES):
    """A loader batch (before the data preprocessor) of several images."""
    samples = []
    for img, image_labels in zip(images, labels):
        sample = DataSample().set_gt_label(image_labels)
        sample.set_metainfo(
            dict(ori_shape=tuple(img.shape[1:]), cam_scales=cam_scales))
        samples.append(sample)
    return dict(
        inputs=[[_resize(img, s) for s in cam_scales] for img in images],
        data_samples=samples)


@pytest.mark.parametrize('adv_iter', [1, 3])
def test_outputs_reach_the_host_once_after_the_batch(adv_iter, monkeypatch):
    """As on a GPU: the climb never waits for the device, and what the
    writers read (scores, labels, keys, maps) is moved to the host after
    the whole batch was computed."""
    model = _model(adv_iter=adv_iter)
    images, labels = [_image(36, 44, 0), _image(40, 32, 1)], [[0, 2], [5]]
    expected = model.test_step(_batch(images, labels))
    per_image = []
    outputs_of = model._advcam_outputs

    def advcam_outputs(scales, sample):
        assert isinstance(scales[0], DeviceLikeTensor)
        with count_host_syncs() as syncs:
            out = outputs_of(scales, sample)
        per_image.append(syncs['ops'])
        return out

    monkeypatch.setattr(model, '_advcam_outputs', advcam_outputs)
    with device_like_inputs(), count_host_syncs() as syncs:
        outs = model.test_step(_batch(images, labels))
    assert per_image == [[], []]
    # scores of the batch at once, then each image's two maps
    assert syncs['ops'] == ['cpu'] * 5
    for out, ref in zip(outs, expected):
        for key in ('pred_score', 'pred_label', 'cam_keys', 'cam_strided',
                    'cam_high_res'):
            assert type(out.get(key)) is torch.Tensor, key
            torch.testing.assert_close(out.get(key), ref.get(key))


@pytest.mark.gpu
def test_cuda_maps_match_cpu(monkeypatch):
    # TF32 convolutions would round to 10-bit mantissas on the GPU
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    labels = [0, 2, 4]
    cpu = _predict(_model(), labels)[0]
    gpu = _predict(_model().cuda(), labels)[0]
    for key in ('pred_score', 'cam_keys', 'cam_strided', 'cam_high_res'):
        assert cpu.get(key).device.type == gpu.get(key).device.type == 'cpu'
    # float rounding only: these maps in float32 and float64 on the CPU
    # differ by < 1e-6 (no mask pixel near the threshold); allow 1e-4
    _assert_same_cams(cpu, gpu, atol=1e-4)
    torch.testing.assert_close(
        gpu.pred_score, cpu.pred_score, atol=1e-5, rtol=0)


def test_suppress_other_classes_switch():
    with pytest.raises(TypeError, match='suppress_other_classes'):
        _model(suppress_other_classes='no')
    default = _predict(_model(), [4, 1])[0]
    ablated_model = _model(suppress_other_classes=False)
    assert ablated_model.suppress_other_classes is False
    ablated, data = _predict(ablated_model, [4, 1])
    # handed on to the climb: same maps as the functional core with it off
    h, w = ablated.ori_shape
    pairs = [torch.stack([x, x.flip(-1)]) for x in data['inputs'][0]]
    _, high_res = advcam_multiscale_cams(
        ablated_model._raw_cams_and_features, pairs, CAM_SCALES, (h, w),
        [4, 1], adv_iter=3,
        classifier_weight=ablated_model.head.classifier.weight,
        suppress_other_classes=False)
    torch.testing.assert_close(ablated.cam_high_res, high_res, atol=1e-6,
                               rtol=0)
    assert (ablated.cam_high_res - default.cam_high_res).abs().max() > 1e-4
