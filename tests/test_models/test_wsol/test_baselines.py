# Copyright (c) mmwsss contributors. All rights reserved.
"""Wiring of the WSOL baselines: CutMix's mixed targets reach the CAM head,
the backbone hooks, and no host waits for the device in the methods."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.models.wsol import (ADL, ADLBackbone, FeatureTapBackbone,
                                HideAndSeek, hide_and_seek)
from mmwsss.registry import MODELS
from mmwsss.testing import DeviceLikeTensor, count_host_syncs

init_default_scope('mmpretrain')

TINY_RESNET = dict(
    type='mmpretrain.ResNet',
    depth=18,
    base_channels=8,
    strides=(1, 2, 1, 1),
    out_indices=(3, ))


def _device_like(x):
    return x.as_subclass(DeviceLikeTensor)


def test_cutmix_targets_reach_the_single_label_head():
    preprocessor = MODELS.build(
        dict(
            type='mmwsss.CAMDataPreprocessor',
            num_classes=4,
            batch_augments=dict(
                augments=dict(type='mmwsss.WSOLCutMix', alpha=1.0,
                              prob=1.0))))
    head = MODELS.build(
        dict(
            type='mmwsss.CAMHead',
            num_classes=4,
            in_channels=3,
            multi_label=False,
            bias=True,
            loss=dict(type='mmpretrain.CrossEntropyLoss')))
    images = [torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
              for _ in range(4)]
    samples = [DataSample().set_gt_label(y) for y in (0, 1, 2, 3)]
    np.random.seed(0)
    torch.manual_seed(0)
    data = preprocessor(dict(inputs=images, data_samples=samples), True)
    scores = torch.stack([s.gt_score for s in data['data_samples']])
    assert not torch.equal(scores, scores.round())  # targets were mixed
    torch.testing.assert_close(scores.sum(1), torch.ones(4))
    feats = (data['inputs'], )
    loss = head.loss(feats, data['data_samples'])['loss']
    logits = head(feats)
    torch.testing.assert_close(loss, F.cross_entropy(logits, scores))
    hard = F.cross_entropy(logits, torch.arange(4))
    assert not torch.isclose(loss, hard)


def test_hide_and_seek_checks_and_grid_zero():
    images = torch.randn(1, 2, 8, 8)
    assert hide_and_seek(images, 0, 0.5, torch.empty(1, 0, 0)) is images
    with pytest.raises(ValueError, match='draws of shape'):
        hide_and_seek(images, 4, 0.5, torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match='drop_rate'):
        HideAndSeek(4, 1.5)
    everything = hide_and_seek(images, 4, 1.0, torch.zeros(1, 2, 2))
    assert not everything.any()


def test_backbone_hooks_keep_names_and_return_taps():
    plain = MODELS.build(TINY_RESNET)
    adl = ADLBackbone(TINY_RESNET, ('layer3.0', 'layer4.1'))
    # the hooks add no parameters: checkpoints of the plain backbone load
    adl.backbone.load_state_dict(plain.state_dict())
    assert len(adl.adl_layers) == 2
    with pytest.raises(KeyError, match='layer9'):
        ADLBackbone(TINY_RESNET, ('layer9.0', ))
    tap = FeatureTapBackbone(
        dict(TINY_RESNET, out_indices=(2, 3)), ('layer3.0', ))
    x = torch.randn(2, 3, 32, 32)
    tap.eval()
    b = tap.backbone
    with torch.no_grad():
        expected = b.layer3[0](
            b.layer2(b.layer1(b.maxpool(b.relu(b.norm1(b.conv1(x)))))))
        feats = tap(x)
    assert [f.shape[1] for f in feats] == [32, 32, 64]
    torch.testing.assert_close(feats[0], expected)
    assert tap._taps == [None]  # nothing kept between calls


def test_adl_eval_identity_and_training_choice():
    layer = ADL(drop_rate=1.0, drop_threshold=0.5)
    x = torch.rand(2, 4, 5, 5) + 0.1
    layer.eval()
    assert layer(x) is x
    layer.train()
    out = layer(x)  # drop rate 1: always the drop mask
    attention = x.mean(1, keepdim=True)
    keep = attention < 0.5 * attention.amax(dim=(2, 3), keepdim=True)
    torch.testing.assert_close(out, x * keep)


def test_methods_do_not_wait_for_the_device():
    x = _device_like(torch.randn(2, 16, 6, 6))
    labels = _device_like(torch.tensor([1, 3]))
    samples = [DataSample().set_gt_label(int(y)) for y in (1, 3)]
    acol = MODELS.build(
        dict(type='mmwsss.ACoLHead', num_classes=5, in_channels=16,
             hidden_channels=8))
    spg = MODELS.build(
        dict(type='mmwsss.SPGHead', num_classes=5, in_channels=16,
             side_in_channels=(16, 16), side_channels=8, c_channels=8,
             upsample_size=(24, 24)))
    layer = ADL().train()
    augment = HideAndSeek(grid_size=2, drop_rate=0.5)
    with count_host_syncs() as syncs:
        outputs = [
            layer(x),
            acol.class_maps((x, ), labels),
            *acol.loss((x, ), samples).values(),
            *spg.loss((x, x, x), samples).values(),
            augment(x, _device_like(torch.eye(2)))[0],
        ]
    assert syncs['count'] == 0, syncs['ops']
    assert all(isinstance(out, DeviceLikeTensor) for out in outputs)


def test_class_maps_follow_the_heads_maps():
    """CAMHead computes the labels' maps alone; a subclass with its own
    ``forward_cams`` gets them picked from its maps."""
    from mmwsss.models.heads import CAMHead

    class ReLUMaps(CAMHead):

        def forward_cams(self, feats):
            return super().forward_cams(feats).relu()

    feats = (torch.randn(3, 6, 4, 4), )
    labels = torch.tensor([4, 0, 2])
    rows = torch.arange(3)
    for head_type in (CAMHead, ReLUMaps):
        torch.manual_seed(0)
        head = head_type(5, 6, multi_label=False, bias=True)
        torch.testing.assert_close(
            head.class_maps(feats, labels),
            head.forward_cams(feats)[rows, labels])
    assert (head.class_maps(feats, labels) >= 0).all()
