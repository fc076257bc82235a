# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsss.functional import (AttentionAccumulator, bnr_refine,
                               fuse_transcam_cams,
                               normalize_transcam_inference, transcam_cam,
                               transcam_losses, transcam_seed_label)
from mmwsss.testing import DeviceLikeTensor, count_host_syncs

GOLDEN = Path(__file__).parents[2] / 'data' / 'transcam_bnr.npz'
METHODS = ('transcam', 'attnagg', 'clsattn', 'convcam')


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _close(actual, expected, rtol=1e-5):
    # The golden tolerance: 1e-5 relative to the array's max.
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        np.asarray(actual.detach() if torch.is_tensor(actual) else actual),
        expected,
        rtol=0,
        atol=rtol * max(np.abs(expected).max(), 1e-12))


@pytest.mark.parametrize('method', METHODS)
def test_transcam_cam_golden(golden, method):
    attn = torch.from_numpy(golden['attn'])
    conv_map = torch.from_numpy(golden['conv_map'])
    expected = golden[f'cam_{method}']
    _close(transcam_cam(attn, conv_map, method), expected)
    _close(transcam_cam(attn.mean(dim=2), conv_map, method), expected)


def test_attention_accumulator(golden):
    attn = torch.from_numpy(golden['attn'])
    conv_map = torch.from_numpy(golden['conv_map'])
    acc = AttentionAccumulator()
    for layer in attn:
        acc.add(layer)
    assert acc.num_layers == attn.shape[0]
    _close(transcam_cam(acc.total, conv_map), golden['cam_transcam'])
    _close(bnr_refine(acc.mean, torch.from_numpy(golden['cam_transcam'])),
           golden['bnr_cams_refined'])
    # Head-averaged input is copied, never summed into in place.
    head_mean = attn[0].mean(dim=1)
    before = head_mean.clone()
    acc.reset()
    acc.add(head_mean)
    acc.add(head_mean)
    torch.testing.assert_close(head_mean, before)
    torch.testing.assert_close(acc.mean, before)
    acc.reset()
    with pytest.raises(RuntimeError):
        acc.total


def test_attention_accumulator_keeps_graph():
    attn = torch.rand(3, 1, 2, 5, 5, requires_grad=True)
    acc = AttentionAccumulator()
    for layer in attn:
        acc.add(layer)
    acc.total.sum().backward()
    torch.testing.assert_close(attn.grad, torch.full_like(attn, 0.5))


def test_transcam_cam_checks_shapes(golden):
    attn = torch.from_numpy(golden['attn'])
    with pytest.raises(ValueError, match='method'):
        transcam_cam(attn, torch.zeros(2, 21, 4, 4), 'gradcam')
    with pytest.raises(ValueError, match='does not match'):
        transcam_cam(attn, torch.zeros(2, 21, 3, 5))


def test_bnr_golden(golden):
    attn = torch.from_numpy(golden['attn'])
    conv_map = torch.from_numpy(golden['conv_map']).requires_grad_(True)
    assert 'IndexError' in str(golden['bnr_shipped_error'])

    cams = transcam_cam(attn, conv_map)
    refined = bnr_refine(attn, cams)
    _close(refined, golden['bnr_cams_refined'])
    conv_logits = conv_map.mean(dim=(2, 3))
    fine_logits = refined.mean(dim=(2, 3))
    _close(conv_logits, golden['conv_logits'])
    _close(fine_logits, golden['bnr_fine_logits'])
    # The transformer head on the (pass-through) class token.
    trans_logits = F.linear(
        torch.from_numpy(golden['cls_token'])[:, 0],
        torch.from_numpy(golden['trans_head_weight']),
        torch.from_numpy(golden['trans_head_bias'])).expand(2, -1)
    _close(trans_logits, golden['trans_logits'])

    losses = transcam_losses(conv_logits, trans_logits,
                             torch.from_numpy(golden['bnr_label20']),
                             fine_logits)
    assert losses['loss_cls'].item() == pytest.approx(float(
        golden['bnr_loss_cams']),
                                                      rel=1e-5)
    assert losses['loss_bnr'].item() == pytest.approx(float(
        golden['bnr_loss_fine_cams']),
                                                      rel=1e-5)
    loss = sum(losses.values())
    assert loss.item() == pytest.approx(float(golden['bnr_loss']), rel=1e-5)
    loss.backward()
    _close(conv_map.grad, golden['bnr_grad_conv_map'])


def test_bnr_attention_is_detached():
    attn = torch.rand(2, 1, 3, 5, 5, requires_grad=True)
    cams = torch.rand(1, 2, 2, 2, requires_grad=True)
    bnr_refine(attn, cams).sum().backward()
    assert attn.grad is None
    assert cams.grad is not None


def test_transcam_losses_without_bnr(golden):
    logits = torch.from_numpy(golden['conv_logits'])
    labels = torch.from_numpy(golden['bnr_label20'])
    losses = transcam_losses(logits, logits, labels)
    assert set(losses) == {'loss_cls'}


def _inference_inputs(golden):
    cams = [golden[f'infer_cam_input_{i}'] for i in range(6)]
    flips = [bool(flag) for flag in golden['infer_flip_flags']]
    size = tuple(int(s) for s in golden['infer_orig_size_hw'])
    return cams, flips, size, golden['infer_label']


def test_inference_fusion_golden(golden):
    cams, flips, size, label = _inference_inputs(golden)
    for i in (0, 1):
        single = fuse_transcam_cams([cams[i]], [flips[i]], size, label)
        _close(single, golden[f'infer_cam_after_resize_{i}'])
    # (1 + C, h, w) maps work too.
    fused = fuse_transcam_cams([cam[0] for cam in cams], flips, size, label)
    _close(fused.clamp(min=0), golden['infer_sum_cam_clamped'])
    with pytest.raises(ValueError, match='flip flag'):
        fuse_transcam_cams(cams, flips[:2], size, label)


def test_inference_normalisation_golden(golden):
    cams, flips, size, label = _inference_inputs(golden)
    norm = normalize_transcam_inference(cams, flips, size, label)
    assert norm.dtype == torch.float32
    _close(norm, golden['infer_norm_cam'])
    # The quirks: a missed GT class and every non-GT class are -1.
    keys = np.nonzero(label > 1e-5)[0]
    np.testing.assert_array_equal(keys, golden['infer_saved_keys'])
    assert (norm[17] == -1).all() and (norm[0] == -1).all()
    assert norm[4].min() < 0

    for threshold, expected in zip(golden['infer_seed_bg_thresholds'],
                                   golden['infer_seed_label']):
        seeds = transcam_seed_label(norm, label, float(threshold))
        assert seeds.dtype == np.uint8
        np.testing.assert_array_equal(seeds, expected)


def _device_like(array):
    return torch.from_numpy(array).as_subclass(DeviceLikeTensor)


@pytest.mark.parametrize('label_kind', ['cpu', 'numpy', 'list', 'device'])
def test_inference_fusion_on_the_maps_device(golden, label_kind):
    cams, flips, size, label = _inference_inputs(golden)
    device_cams = [_device_like(cam) for cam in cams]
    any_label = dict(
        cpu=torch.from_numpy(label),
        numpy=label,
        list=label.tolist(),
        device=_device_like(label))[label_kind]
    with count_host_syncs() as syncs:
        fused = fuse_transcam_cams(device_cams, flips, size, any_label)
        norm = normalize_transcam_inference(device_cams, flips, size,
                                            any_label)
    assert syncs['count'] == 0
    # Computed "on the device", and bit-identical to the CPU fusion.
    assert isinstance(fused, DeviceLikeTensor)
    assert isinstance(norm, DeviceLikeTensor)
    assert torch.equal(fused.cpu(),
                       fuse_transcam_cams(cams, flips, size, label))
    assert torch.equal(norm.cpu(),
                       normalize_transcam_inference(cams, flips, size, label))
    for threshold, expected in zip(golden['infer_seed_bg_thresholds'],
                                   golden['infer_seed_label']):
        with count_host_syncs() as syncs:
            seeds = transcam_seed_label(norm, any_label, float(threshold))
        # Only the uint8 labels come back.
        assert syncs['ops'] == ['cpu']
        assert seeds.dtype == np.uint8
        np.testing.assert_array_equal(seeds, expected)


def test_inference_fusion_moves_the_label_to_the_maps():
    # Maps on another device than the label (the meta device stands in for
    # a GPU: mixing it with CPU tensors fails as CUDA does).
    maps = [torch.rand(5, 3, 4, device='meta') for _ in range(2)]
    label = np.array([1., 0., 0., 1.])
    fused = fuse_transcam_cams(maps, [False, True], (6, 7), label)
    assert fused.device.type == 'meta' and fused.shape == (4, 6, 7)
    norm = normalize_transcam_inference(maps, [False, True], (6, 7),
                                        torch.from_numpy(label))
    assert norm.device.type == 'meta' and norm.shape == (4, 6, 7)


def test_seed_label_ties_and_dtypes():
    norm = torch.tensor([[[0.5, 0.2, 0.9]], [[0.5, 0.7, 0.9]],
                         [[0.1, 0.9, 0.95]]])
    label = [1, 1, 0]
    # Ties go to the first channel (background, then the lower class);
    # the unlabelled class 2 never wins.
    np.testing.assert_array_equal(
        transcam_seed_label(norm, label, 0.5), [[0, 2, 1]])
    np.testing.assert_array_equal(
        transcam_seed_label(norm.double().numpy(), np.array(label), 0.5),
        [[0, 2, 1]])
    np.testing.assert_array_equal(
        transcam_seed_label(norm.to(torch.bfloat16), label, 0.95),
        [[0, 0, 0]])


@pytest.mark.gpu
def test_inference_fusion_cuda_maps_cpu_label(golden):
    cams, flips, size, label = _inference_inputs(golden)
    cuda_cams = [torch.from_numpy(cam).cuda() for cam in cams]
    cpu_label = torch.from_numpy(label)
    norm = normalize_transcam_inference(cuda_cams, flips, size, cpu_label)
    assert norm.is_cuda
    expected = normalize_transcam_inference(cams, flips, size, label)
    # The golden tolerance: 1e-5 of the maximum.
    _close(norm.cpu(), expected.numpy())
    _close(
        fuse_transcam_cams(cuda_cams, flips, size, label).cpu(),
        fuse_transcam_cams(cams, flips, size, label).numpy())
    for threshold, expected_seeds in zip(golden['infer_seed_bg_thresholds'],
                                         golden['infer_seed_label']):
        seeds = transcam_seed_label(norm, cpu_label, float(threshold))
        np.testing.assert_array_equal(seeds, expected_seeds)
