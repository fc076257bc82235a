# Copyright (c) mmwsss contributors. All rights reserved.
"""GradCAMClassifier and the grad-cam adapter (``gradcam/adapter.py``) on tiny
random models."""
import contextlib
import io
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

import mmwsss.models.gradcam.adapter
from mmwsss.models.gradcam import (
    GRADCAM_METHODS, TokenGridReshape, build_gradcam, default_target_layer,
    raw_gradcam_maps, release_gradcam, resolve_module)
from mmwsss.models.utils import frozen_parameters
from mmwsss.models.utils.cam import merge_multiscale_cams
from mmwsss.registry import MODELS
from mmwsss.testing import (DeviceLikeTensor, count_host_syncs,
                            device_like_inputs)

METHODS = ['gradcam', 'gradcampp', 'layercam', 'xgradcam', 'scorecam',
           'eigencam']
RESNET = dict(type='mmpretrain.ResNet', depth=18, base_channels=8,
              out_indices=(3, ))
VIT = dict(
    type='mmpretrain.VisionTransformer',
    arch=dict(embed_dims=32, num_layers=2, num_heads=2,
              feedforward_channels=64),
    img_size=32,
    patch_size=8)


def _build(kind, num_classes=6, **kwargs):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    if kind == 'cnn':
        cfg = dict(
            backbone=RESNET,
            neck=dict(type='mmpretrain.GlobalAveragePooling'),
            head=dict(type='mmpretrain.MultiLabelLinearClsHead',
                      num_classes=num_classes, in_channels=64))
    elif kind == 'vit':
        cfg = dict(
            backbone=VIT,
            head=dict(type='mmpretrain.VisionTransformerClsHead',
                      num_classes=num_classes, in_channels=32))
    else:  # the CAM classifier's backbone and head
        cfg = dict(
            backbone=dict(RESNET, strides=(1, 2, 2, 1)),
            head=dict(type='mmwsss.CAMHead', num_classes=num_classes,
                      in_channels=64))
    model = MODELS.build(
        dict(type='mmwsss.GradCAMClassifier', **cfg,
             data_preprocessor=dict(num_classes=num_classes), **kwargs))
    model.init_weights()
    if kind == 'vit':  # its head starts at zero: no gradients at all
        torch.nn.init.normal_(model.head.layers.head.weight, std=0.5)
    return model.eval()


def _sample(hw, labels=None, scales=(1.0, 0.5)):
    sample = DataSample(metainfo=dict(ori_shape=hw, cam_scales=scales))
    if labels is not None:
        sample.set_gt_label(labels)
    return sample


def _scales(hw, scales=(1.0, 0.5), seed=0):
    img = torch.randn(3, *hw, generator=torch.Generator().manual_seed(seed))
    return [
        F.interpolate(img[None], scale_factor=s, mode='bilinear')[0]
        if s != 1.0 else img for s in scales
    ]


@pytest.fixture(scope='module')
def models():
    return dict(cnn=_build('cnn'), vit=_build('vit'))


@pytest.mark.parametrize('kind', ['cnn', 'vit'])
@pytest.mark.parametrize('method', METHODS)
def test_every_method_gives_cam_outputs(models, kind, method):
    model = models[kind]
    model.method = method
    hw = (40, 56)
    with torch.no_grad():
        out = model.predict([_scales(hw), _scales(hw, seed=1)],
                            [_sample(hw, [0, 3]), _sample(hw, [5])])
    for sample, keys in zip(out, ([0, 3], [5])):
        assert sample.cam_keys.tolist() == keys
        assert sample.cam_strided.shape == (len(keys), 10, 14)
        assert sample.cam_high_res.shape == (len(keys), 40, 56)
        for cams in (sample.cam_strided, sample.cam_high_res):
            assert cams.dtype == torch.float32 and cams.min() >= 0
            assert torch.isfinite(cams).all() and cams.max() < 1
        assert sample.cam_high_res.amax(dim=(1, 2)).min() > 0.5
        assert sample.pred_score.shape == (6, )
    assert all(p.requires_grad and p.grad is None
               for p in model.parameters())
    # the hooks are gone: a plain forward stores nothing
    assert not resolve_module(model, model.target_layer)._forward_hooks


def test_gradcam_equals_the_hand_computation():
    model = _build('cnn')
    img = torch.randn(2, 3, 48, 40)
    classes = [1, 4]
    layer = model.backbone.layer4
    saved = {}
    handle = layer.register_forward_hook(
        lambda m, i, o: saved.update(act=o))
    logits = model(img, mode='tensor')
    handle.remove()
    act = saved['act']
    score = logits[0, 1] + logits[1, 4]
    grads = torch.autograd.grad(score, act)[0]
    expected = (grads.mean(dim=(2, 3), keepdim=True) * act).sum(1).relu()
    cam = build_gradcam(model, 'gradcam', ['backbone.layer4'])
    try:
        maps = raw_gradcam_maps(cam, img, classes)
    finally:
        release_gradcam(cam)
    assert maps.shape == (2, 2, 2) and expected.abs().max() > 0
    torch.testing.assert_close(maps, expected.detach(), rtol=1e-4,
                               atol=1e-6)

    # predict at one scale = the merge of the hand maps of image and flip
    flip_saved = {}
    handle = layer.register_forward_hook(
        lambda m, i, o: flip_saved.update(act=o))
    pair = torch.stack([img[0], img[0].flip(-1)])
    logits = model(pair, mode='tensor')
    handle.remove()
    act = flip_saved['act']
    grads = torch.autograd.grad(logits[:, 1].sum(), act)[0]
    hand = (grads.mean(dim=(2, 3), keepdim=True) * act).sum(1).relu()
    strided, high_res = merge_multiscale_cams(
        [hand.detach()[:, None]], (48, 40))
    with torch.no_grad():
        out = model.predict([[img[0]]], [_sample((48, 40), [1], (1.0, ))])[0]
    torch.testing.assert_close(out.cam_strided, strided, rtol=1e-4,
                               atol=1e-5)
    torch.testing.assert_close(out.cam_high_res, high_res, rtol=1e-4,
                               atol=1e-5)


def test_gradcam_on_a_cam_head_is_the_cam():
    """With GAP + a linear 1x1 classifier, Grad-CAM at the last feature map
    is CAM / (h w): one scale gives the CAMClassifier's maps."""
    model = _build('camhead')
    with torch.no_grad():  # large maps: the + 1e-5 of the division vanishes
        model.head.classifier.weight.mul_(1e3)
    cam_model = MODELS.build(
        dict(type='mmwsss.CAMClassifier', backbone=dict(RESNET,
             strides=(1, 2, 2, 1)), head=dict(type='mmwsss.CAMHead',
             num_classes=6, in_channels=64),
             data_preprocessor=dict(num_classes=6)))
    cam_model.load_state_dict(model.state_dict())
    cam_model.eval()
    hw = (50, 34)
    inputs = [_scales(hw, (1.0, ))]
    with torch.no_grad():
        ours = model.predict(inputs, [_sample(hw, [0, 2, 5], (1.0, ))])[0]
        ref = cam_model.predict(inputs, [_sample(hw, [0, 2, 5], (1.0, ))])[0]
    assert ref.cam_high_res.amax(dim=(1, 2)).min() > 0.9
    torch.testing.assert_close(ours.cam_high_res, ref.cam_high_res,
                               rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours.pred_score, ref.pred_score)


def test_one_five_and_all_zero_classes():
    model = _build('cnn')
    with torch.no_grad():
        model.head.fc.weight[2] = 0  # class 2: no gradient, an all-zero map
    hw = (36, 36)
    with torch.no_grad():
        one, five = model.predict(
            [_scales(hw), _scales(hw, seed=3)],
            [_sample(hw, [4]), _sample(hw, [0, 1, 2, 3, 5])])
    assert one.cam_keys.tolist() == [4] and one.cam_high_res.shape[0] == 1
    assert five.cam_keys.tolist() == [0, 1, 2, 3, 5]
    assert five.cam_strided.shape == (5, 9, 9)
    assert torch.all(five.cam_high_res[2] == 0)
    assert torch.all(five.cam_strided[2] == 0)
    others = five.cam_high_res[[0, 1, 3, 4]]
    assert others.amax(dim=(1, 2)).min() > 0.9 and others.max() < 1


def test_topk_predicted_classes_without_labels():
    model = _build('cnn', topk=2)
    hw = (32, 32)
    with torch.no_grad():
        out = model.predict([_scales(hw)], [_sample(hw)])[0]
    expected = out.pred_score.topk(2).indices
    assert out.cam_keys.tolist() == expected.tolist()
    assert out.cam_high_res.shape == (2, 32, 32)


def test_tensor_inputs_predict_scores(models):
    out = models['cnn'].predict(torch.randn(2, 3, 32, 32))
    assert len(out) == 2 and out[0].pred_score.shape == (6, )


def test_inference_mode_is_refused(models):
    hw = (32, 32)
    with torch.inference_mode(), pytest.raises(RuntimeError, match='autograd'):
        models['cnn'].predict([_scales(hw)], [_sample(hw, [1])])


def test_layer_paths_defaults_and_errors(models):
    cnn, vit = models['cnn'], models['vit']
    assert default_target_layer(cnn) == 'backbone.layer4'
    assert default_target_layer(vit) == 'backbone.layers.1.ln1'
    assert cnn.target_layer == 'backbone.layer4'
    assert resolve_module(vit, 'backbone.layers[-1].ln1') is \
        vit.backbone.layers[1].ln1
    assert resolve_module(vit, 'backbone.layers.-2') is vit.backbone.layers[0]
    with pytest.raises(ValueError, match="no submodule 'layer9'.*layer4"):
        resolve_module(cnn, 'backbone.layer9')
    with pytest.raises(ValueError, match="no submodule '5'"):
        resolve_module(vit, 'backbone.layers.5')
    with pytest.raises(ValueError, match='no submodule'):
        _build('cnn', target_layer='backbone.layer5')
    with pytest.raises(ValueError, match='Unknown CAM method.*gradcampp'):
        _build('cnn', method='gradcam+++')
    assert set(METHODS) <= set(GRADCAM_METHODS)


def test_token_reshape_follows_the_input_grid():
    vit = _build('vit')
    vit.backbone.out_type = 'featmap'
    reshape = TokenGridReshape(vit.backbone)
    assert reshape.num_extra_tokens == 1
    saved = {}
    handle = vit.backbone.ln1.register_forward_hook(
        lambda m, i, o: saved.update(tokens=o))
    img = torch.randn(1, 3, 40, 72)
    with torch.no_grad():
        featmap = vit.backbone(img)[-1]
    handle.remove()
    reshape.release()
    assert featmap.shape == (1, 32, 5, 9)
    torch.testing.assert_close(reshape(saved['tokens']), featmap)
    # Swin-like later stages: the grid halved (rounded up), no class token
    reshape.grid, reshape.num_extra_tokens = (7, 9), 0
    assert reshape(torch.zeros(2, 20, 3)).shape == (2, 3, 4, 5)
    feature_map = torch.zeros(2, 3, 4, 5)
    assert reshape(feature_map) is feature_map
    with pytest.raises(ValueError, match='Cannot arrange 7 tokens'):
        reshape(torch.zeros(2, 7, 3))
    with pytest.raises(ValueError, match='expected'):
        TokenGridReshape(vit.backbone, vit_like=True)(feature_map)


def test_deit_and_swin_defaults_run():
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    deit = MODELS.build(
        dict(type='mmwsss.GradCAMClassifier',
             backbone=dict(VIT, type='mmpretrain.DistilledVisionTransformer'),
             head=dict(type='mmpretrain.DeiTClsHead', num_classes=4,
                       in_channels=32,
                       init_cfg=dict(type='Normal', layer='Linear', std=0.5)),
             data_preprocessor=dict(num_classes=4))).eval()
    deit.init_weights()
    swin = MODELS.build(
        dict(type='mmwsss.GradCAMClassifier',
             backbone=dict(type='mmpretrain.SwinTransformer',
                           arch=dict(embed_dims=16, depths=[1, 1],
                                     num_heads=[1, 2]),
                           img_size=32, window_size=2, out_indices=(1, )),
             neck=dict(type='mmpretrain.GlobalAveragePooling'),
             head=dict(type='mmpretrain.LinearClsHead', num_classes=4,
                       in_channels=32),
             data_preprocessor=dict(num_classes=4))).eval()
    assert deit.target_layer == 'backbone.layers.1.ln1'
    assert swin.target_layer == 'backbone.stages.1.blocks.0.norm1'
    hw = (36, 52)
    for model, grid in ((deit, (36 // 8 + 1, 52 // 8 + 1)),
                        (swin, (5, 7))):  # patch grid 9 x 13, halved
        cam = build_gradcam(model, 'gradcam', [model.target_layer])
        try:
            maps = raw_gradcam_maps(cam, torch.randn(2, 3, *hw), [1, 2])
        finally:
            release_gradcam(cam)
        assert maps.shape == (2, *grid) and maps.max() > 0
    assert deit.backbone.num_extra_tokens == 2


def test_configs_build_and_run(repo_root, tmp_path):
    from mmengine.config import Config
    from mmengine.dataset import Compose, pseudo_collate
    from PIL import Image
    cfg = Config.fromfile(
        f'{repo_root}/configs/gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py')
    assert cfg.model.type == 'mmwsss.GradCAMClassifier'
    assert cfg.model.head.type == 'mmwsss.CAMHead'
    cfg = Config.fromfile(
        f'{repo_root}/configs/gradcam/gradcam_vit-base-p16_in1k.py')
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.arch = dict(embed_dims=32, num_layers=12, num_heads=2,
                                   feedforward_channels=64)
    cfg.model.head.in_channels = 32
    model = MODELS.build(cfg.model).eval()
    assert model.target_layer == 'backbone.layers.11.ln1'
    image = str(tmp_path / 'img.png')
    Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (75, 100, 3), np.uint8)).save(image)
    data = Compose(cfg.test_dataloader.dataset.pipeline)(dict(img_path=image))
    with torch.no_grad():
        out = model.test_step(pseudo_collate([data]))[0]
    assert out.cam_keys.tolist() == [int(out.pred_score.argmax())]
    assert out.cam_high_res.shape == (1, 75, 100)
    assert out.cam_strided.shape == (1, 19, 25)


def _grad_cam_numpy_maps(cam, inputs, classes, eigen_smooth):
    """grad-cam's own computation: its hooks (activations and gradients
    copied to the host) and its NumPy ``get_cam_image``, then ReLU."""
    targets = [ClassifierOutputTarget(c) for c in classes]
    with torch.enable_grad():
        inputs = inputs.clone().requires_grad_(cam.uses_gradients)
        outputs = cam.activations_and_grads(inputs)
        grads = None
        if cam.uses_gradients:
            sum(t(out) for t, out in zip(targets, outputs)).backward()
            grads = cam.activations_and_grads.gradients[0].numpy()
        activations = cam.activations_and_grads.activations[0].numpy()
        with contextlib.redirect_stderr(io.StringIO()):  # ScoreCAM's tqdm
            maps = cam.get_cam_image(inputs.detach(), cam.target_layers[0],
                                     targets, activations, grads,
                                     eigen_smooth)
    cam.activations_and_grads.clear()
    return torch.from_numpy(np.maximum(np.float32(maps), 0))


def _projection_with_fixed_sign(activation_batch):
    """grad-cam's first-principal-component projection, each map's sign
    fixed so that its largest magnitude is positive."""
    projections = get_2d_projection(activation_batch)
    flat = projections.reshape(len(projections), -1)
    peaks = flat[np.arange(len(flat)), np.abs(flat).argmax(axis=1)]
    return projections * np.sign(peaks).reshape(-1, 1, 1)


@pytest.mark.parametrize('eigen_smooth', [False, True])
@pytest.mark.parametrize('kind', ['cnn', 'vit'])
@pytest.mark.parametrize('method', METHODS)
def test_torch_maps_equal_grad_cams_numpy_maps(models, method, kind,
                                                eigen_smooth, monkeypatch):
    """The maps computed in torch equal grad-cam's NumPy ones within 1e-5
    of the largest value (float32 rounding; measured <= 5e-6).

    The principal component of the eigen projections (EigenCAM,
    ``eigen_smooth``) has no defined sign: LAPACK's choice flipped between
    the two paths' inputs, equal to rounding, on an AVX2-only CPU, and the
    ReLU then keeps opposite halves. Both paths run the same projection
    here with the sign fixed, so what is compared is what feeds it."""
    users = [mmwsss.models.gradcam.adapter] + [
        module for name, module in list(sys.modules.items())
        if name.startswith('pytorch_grad_cam.')
        and getattr(module, 'get_2d_projection', None) is get_2d_projection
    ]
    for module in users:
        monkeypatch.setattr(module, 'get_2d_projection',
                            _projection_with_fixed_sign)
    model = models[kind]
    images = torch.randn(3, 3, 40, 56,
                         generator=torch.Generator().manual_seed(1))
    classes = [0, 3, 5]
    cam = build_gradcam(model, method, [model.target_layer])
    try:
        with frozen_parameters(model):
            ours = raw_gradcam_maps(cam, images, classes, eigen_smooth)
            expected = _grad_cam_numpy_maps(cam, images, classes,
                                            eigen_smooth)
    finally:
        release_gradcam(cam)
    assert expected.amax(dim=(1, 2)).min() > 0
    torch.testing.assert_close(
        ours, expected, rtol=1e-5, atol=1e-5 * float(expected.max()))


@pytest.mark.parametrize('method', METHODS)
def test_class_sets_and_chunks_give_the_maps_of_per_class_copies(
        models, method):
    """(N, K) classes (one forward per image) and any max_batch give the
    maps of the former layout, a copy of the image per class."""
    model = models['cnn']
    images = torch.randn(2, 3, 40, 56,
                         generator=torch.Generator().manual_seed(2))
    class_sets = torch.tensor([[0, 3, 5], [5, 1, 3]])
    cam = build_gradcam(model, method, [model.target_layer])
    try:
        with frozen_parameters(model):
            copies = raw_gradcam_maps(cam, images.repeat_interleave(3, 0),
                                      class_sets.flatten())
            whole = raw_gradcam_maps(cam, images, class_sets)
            chunked = [
                raw_gradcam_maps(cam, images, class_sets, max_batch=size)
                for size in (1, 3)
            ]
    finally:
        release_gradcam(cam)
    assert whole.shape == (2, 3, 2, 2) and whole.amax() > 0
    tolerance = dict(rtol=1e-5, atol=1e-6 * float(whole.max()))
    torch.testing.assert_close(whole.flatten(0, 1), copies, **tolerance)
    for maps in chunked:
        torch.testing.assert_close(maps, whole, **tolerance)
    if method == 'eigencam':  # class independent
        assert torch.equal(whole[:, 0], whole[:, 2])
    else:  # the classes do differ
        assert not torch.allclose(whole[:, 0], whole[:, 1])


def test_max_batch_leaves_the_cams_unchanged():
    hw = (40, 56)
    inputs = [_scales(hw), _scales(hw, seed=1)]
    outputs = []
    for max_batch in (None, 1):
        model = _build('cnn', method='scorecam', max_batch=max_batch)
        with torch.no_grad():
            outputs.append(model.predict(
                inputs, [_sample(hw, [0, 3]), _sample(hw, [5])]))
    for ours, ref in zip(*outputs):
        for key in ('cam_strided', 'cam_high_res'):
            torch.testing.assert_close(ours.get(key), ref.get(key),
                                       rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='max_batch'):
        _build('cnn', max_batch=0)


def _packed_batch(hw, labels):
    """A test_step batch of uint8 multi-scale images (as PackCAMInputs)."""
    inputs, samples = [], []
    for seed, keys in enumerate(labels):
        scales = _scales(hw, seed=seed)
        inputs.append([(s * 40 + 128).clamp(0, 255).to(torch.uint8)
                       for s in scales])
        samples.append(_sample(hw, keys))
    return dict(inputs=inputs, data_samples=samples)


@pytest.mark.parametrize('method', METHODS)
def test_test_step_on_device_like_inputs(models, method):
    """As on a GPU: no host conversion of a device tensor, the outputs on
    the CPU, equal to a plain CPU run; the host syncs do not grow with the
    number of classes."""
    model = models['cnn']
    model.method = method
    hw = (40, 56)
    with torch.no_grad():
        expected = model.test_step(_packed_batch(hw, [[0, 3]]))
        syncs = []
        for labels in ([[1]], [[0, 3]], [[0, 2, 3, 5]]):
            with device_like_inputs(), count_host_syncs() as counted:
                out = model.test_step(_packed_batch(hw, labels))
            syncs.append(counted['count'])
            if labels == [[0, 3]]:
                ours = out
    assert syncs[0] == syncs[1] == syncs[2], syncs
    for key in ('pred_score', 'cam_keys', 'cam_strided', 'cam_high_res'):
        value = ours[0].get(key)
        assert type(value) is torch.Tensor, (key, type(value))
        assert value.device.type == 'cpu'
        torch.testing.assert_close(value, expected[0].get(key))


def test_device_like_inputs_reach_the_maps(models):
    """The maps are computed from device tensors (not on a host copy)."""
    model = models['cnn']
    cam = build_gradcam(model, 'gradcam', [model.target_layer])
    cam.activations_and_grads.release()
    images = torch.randn(2, 3, 32, 32).as_subclass(DeviceLikeTensor)
    try:
        with frozen_parameters(model), count_host_syncs() as counted:
            maps = raw_gradcam_maps(cam, images, torch.tensor([1, 2]))
    finally:
        release_gradcam(cam)
    assert isinstance(maps, DeviceLikeTensor) and counted['count'] == 0


@pytest.mark.gpu
@pytest.mark.parametrize('kind', ['cnn', 'vit'])
@pytest.mark.parametrize('method', METHODS)
def test_cuda_cams_equal_cpu_cams(kind, method):
    """The CAMs on CUDA equal those on the CPU within 1e-4 (maps in [0, 1];
    TF32 off)."""
    hw = (40, 56)
    inputs = [_scales(hw), _scales(hw, seed=1)]
    labels = ([0, 3], [5])
    model = _build(kind, method=method)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        with torch.no_grad():
            on_cpu = model.predict(inputs, [_sample(hw, k) for k in labels])
            model.cuda()
            on_cuda = model.predict(
                [[img.cuda() for img in scales] for scales in inputs],
                [_sample(hw, k).to('cuda') for k in labels])
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    for ours, ref in zip(on_cuda, on_cpu):
        assert ours.cam_keys.tolist() == ref.cam_keys.tolist()
        for key in ('cam_strided', 'cam_high_res', 'pred_score'):
            assert ours.get(key).device.type == 'cpu'
            torch.testing.assert_close(ours.get(key), ref.get(key),
                                       rtol=1e-4, atol=1e-4)


def test_maps_use_the_layer_output_before_in_place_changes():
    """layer4.1.bn2's output gets the residual added, then the ReLU, in
    place: the maps use the output itself, and its gradient."""
    model = _build('cnn')
    layer = model.backbone.layer4[1].bn2
    with torch.no_grad():  # zero_init_residual made its output 0
        layer.weight.fill_(1)
    images = torch.randn(2, 3, 40, 56,
                         generator=torch.Generator().manual_seed(3))
    saved = {}

    def keep(module, args, output):
        saved['output'] = output
        return output + 0  # the in-place operations change this sum

    handle = layer.register_forward_hook(keep)
    logits = model(images.requires_grad_(), mode='tensor')
    handle.remove()
    act = saved['output']
    grads = torch.autograd.grad(logits[0, 1] + logits[1, 4], act)[0]
    expected = (grads.mean(dim=(2, 3), keepdim=True) * act).sum(1).relu()
    cam = build_gradcam(model, 'gradcam', ['backbone.layer4.1.bn2'])
    try:
        with frozen_parameters(model):
            maps = raw_gradcam_maps(cam, images.detach(), [1, 4])
    finally:
        release_gradcam(cam)
    assert expected.amax() > 0
    torch.testing.assert_close(maps, expected.detach(), rtol=1e-4, atol=1e-6)
