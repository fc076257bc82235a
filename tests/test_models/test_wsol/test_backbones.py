# Copyright (c) mmwsss contributors. All rights reserved.
"""WSOL backbones and CAM heads against wsolevaluation (golden
``wsol_cam_heads.npz``, golden README §20; tolerances from there: maps and
logits 1e-5 relative, score maps 1e-4 absolute)."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmpretrain.models import ResNet

from mmwsss.models import CAMHead, WSOLInceptionV3, WSOLVGG
from mmwsss.structures import normalize_scoremap

GOLDEN = np.load(
    osp.join(osp.dirname(__file__), '..', '..', 'data', 'wsol_cam_heads.npz'))


def _t(key):
    return torch.from_numpy(GOLDEN[key])


def _close(actual, key, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(
        actual.detach().numpy(), GOLDEN[key], rtol=rtol, atol=atol)


def _head(prefix, key, num_classes=5):
    """CAMHead with the reference classifier (fc or 1x1 conv) weights."""
    weight, bias = _t(f'{prefix}.weight'), _t(f'{prefix}.bias')
    head = CAMHead(
        num_classes, weight.shape[1], multi_label=False, bias=True)
    head.classifier.weight.data.copy_(weight.reshape(num_classes, -1, 1, 1))
    head.classifier.bias.data.copy_(bias)
    return head.eval()


def _check_cams_and_scoremaps(head, feature_map, labels, key, channel_mean):
    raw = head.forward_cams((feature_map, ))[torch.arange(2), labels]
    if channel_mean:
        # the reference: mean over channels of w * F, no bias
        bias = head.classifier.bias[labels][:, None, None]
        _close((raw - bias) / feature_map.shape[1], f'{key}_cams')
    else:
        _close(raw, f'{key}_cams')
    for i in range(2):
        # The reference resizes with cv2 dsize = (H, W), i.e. to W x H; our
        # normalize_scoremap takes (H, W), so it is given the swapped size.
        h, w = GOLDEN[f'{key}_scoremaps'].shape[1:]
        np.testing.assert_allclose(
            normalize_scoremap(raw[i].detach(), (h, w)),
            GOLDEN[f'{key}_scoremaps'][i],
            atol=1e-4)


def test_vgg16_gap_head_matches_reference():
    # The reference's features ['8', 'M', '16', 'M', '16'] as a 3-stage VGG.
    backbone = WSOLVGG(
        depth=(1, 1, 1), stage_channels=(8, 16, 16), conv6_channels=32).eval()
    convs = [m for m in backbone.features if hasattr(m, 'conv')]
    assert [type(m).__name__ for m in backbone.features] == [
        'ConvModule', 'MaxPool2d', 'ConvModule', 'MaxPool2d', 'ConvModule'
    ]
    for conv, index in zip(convs, (0, 3, 6)):
        conv.conv.weight.data.copy_(_t(f'vgg_param.features.{index}.weight'))
        conv.conv.bias.data.copy_(_t(f'vgg_param.features.{index}.bias'))
    backbone.conv6.weight.data.copy_(_t('vgg_param.conv6.weight'))
    backbone.conv6.bias.data.copy_(_t('vgg_param.conv6.bias'))
    head = _head('vgg_param.fc', 'vgg')
    with torch.no_grad():
        feats = backbone(_t('vgg_images'))
        _close(feats[-1], 'vgg_feature_map')
        _close(head(feats), 'vgg_logits')
        _check_cams_and_scoremaps(head, feats[-1], _t('vgg_labels'), 'vgg',
                                  channel_mean=True)


@pytest.mark.parametrize('lfm', [1, 0])
def test_inception_v3_pooling_tail_and_cam_match_reference(lfm):
    key = f'inception_lfm{lfm}'
    backbone = WSOLInceptionV3(large_feature_map=bool(lfm)).eval()
    # As the reference run: every Inception block an identity, 8 -> 16 tail.
    for name in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3',
                 'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'Mixed_5b', 'Mixed_5c',
                 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d',
                 'Mixed_6e'):
        setattr(backbone, name, nn.Identity())
    for name, (cin, cout) in (('SPG_A3_1b', (8, 16)), ('SPG_A3_2b', (16,
                                                                    16))):
        tail = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())
        tail.load_state_dict({
            k: _t(f'{key}_param.{name}.{k}')
            for k in ('0.weight', '0.bias')
        })
        setattr(backbone, name, tail)
    backbone.out_indices = (1, 2)
    head = _head(f'{key}_param.SPG_A4', key)
    with torch.no_grad():
        feat, tail_map = backbone(_t('inception_input'))
        _close(feat, f'{key}_feat')
        _close(head.forward_cams((tail_map, )), f'{key}_feat_map')
        _close(head((tail_map, )), f'{key}_logits')
        _check_cams_and_scoremaps(head, tail_map, _t('inception_labels'),
                                  key, channel_mean=False)


def test_resnet50_cam_matches_reference():
    backbone = ResNet(depth=50, out_indices=(3, ))
    backbone.eval()  # mmpretrain's ResNet.train returns None
    for name in backbone.res_layers:
        setattr(backbone, name, nn.Identity())
    backbone.load_state_dict(
        {
            k[len('resnet_param.'):]: _t(k)
            for k in GOLDEN.files
            if k.startswith('resnet_param.')
            and not k.startswith('resnet_param.fc')
        },
        strict=False)
    head = _head('resnet_param.fc', 'resnet')
    with torch.no_grad():
        feats = backbone(_t('resnet_images'))
        _close(feats[-1], 'resnet_feature_map')
        _close(head(feats), 'resnet_logits')
        _check_cams_and_scoremaps(head, feats[-1], _t('resnet_labels'),
                                  'resnet', channel_mean=True)


@pytest.mark.parametrize('lfm', [False, True])
def test_full_networks_give_the_protocol_map_sizes(lfm):
    # 14 x 14, or 28 x 28 with large_feature_map, at 224 (golden
    # full_net_cam_shape_hw); meta tensors: shapes only, no compute.
    expected = 28 if lfm else 14
    arch = list(GOLDEN['full_net_cam_shape_arch'])
    for net in ('vgg16', 'inception_v3'):
        name = f'{net}/cam/lfm{int(lfm)}'
        assert tuple(GOLDEN['full_net_cam_shape_hw'][arch.index(name)]) == (
            expected, expected)
    with torch.device('meta'):
        vgg = WSOLVGG(large_feature_map=lfm)
        inception = WSOLInceptionV3(large_feature_map=lfm).eval()
        x = torch.empty(1, 3, 224, 224)
        assert vgg(x)[-1].shape == (1, 1024, expected, expected)
        assert inception(x)[-1].shape == (1, 1024, expected, expected)


def test_checkpoint_keys_follow_mmpretrain():
    # mmpretrain's ImageNet VGG16 / InceptionV3 checkpoints load by name.
    with torch.device('meta'):
        vgg_keys = set(WSOLVGG(large_feature_map=True).state_dict())
        inception_keys = set(WSOLInceptionV3().state_dict())
    # VGG16 conv indices of mmpretrain (pools in between, one skipped here)
    assert {f'features.{i}.conv.weight'
            for i in (0, 1, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16)
            } | {'conv6.weight', 'conv6.bias'} <= vgg_keys
    assert 'Mixed_6a.branch3x3.conv.weight' in inception_keys
    assert not any(k.startswith(('Mixed_7', 'fc', 'AuxLogits'))
                   for k in inception_keys)


def test_train_mode_drops_the_tail_and_freezing_works():
    torch.manual_seed(0)
    backbone = WSOLInceptionV3(large_feature_map=True)
    backbone.train()
    x = torch.randn(1, 3, 64, 64)
    assert not torch.equal(backbone(x)[-1], backbone(x)[-1])
    backbone.eval()
    assert torch.equal(backbone(x)[-1], backbone(x)[-1])
    vgg = WSOLVGG(depth=11, stage_channels=(8, 8, 16, 16, 16),
                  frozen_stages=2)
    vgg.train()
    assert not any(p.requires_grad for p in vgg.features[:4].parameters())
    assert all(p.requires_grad for p in vgg.features[4:].parameters())
    with pytest.raises(ValueError, match='stage_channels'):
        WSOLVGG(stage_channels=(8, 16))
