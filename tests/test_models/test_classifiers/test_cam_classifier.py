# Copyright (c) mmwsss contributors. All rights reserved.
import copy

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS

init_default_scope('mmpretrain')

TINY = dict(
    type='mmwsss.CAMClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=4,
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
    head=dict(type='mmwsss.CAMHead', num_classes=4, in_channels=64))


def _model():
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(TINY))
    model.init_weights()
    return model.eval()


def _sample(labels, shape):
    sample = DataSample().set_gt_label(labels)
    sample.set_metainfo(dict(ori_shape=shape, img_path='x/img.jpg'))
    return sample


def test_training_step_reduces_loss():
    model = _model().train()
    optim = torch.optim.SGD(model.parameters(), lr=0.05)
    inputs = torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8)
    samples = [_sample([i % 4], (32, 32)) for i in range(4)]
    losses = []
    for _ in range(5):
        data = model.data_preprocessor(
            dict(inputs=inputs, data_samples=copy.deepcopy(samples)), True)
        loss = model(**data, mode='loss')['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    # multi-label soft-margin = mean BCE over classes and images
    assert 'gt_score' in data['data_samples'][0]


def test_head_logits_are_the_mean_of_the_cams():
    model = _model()
    x = torch.randn(2, 3, 48, 40)
    feats = model.extract_feat(x)
    cams = model.head.forward_cams(feats)
    assert torch.allclose(
        model.head(feats), cams.mean(dim=(2, 3)), atol=1e-5)


@torch.no_grad()
def test_multiscale_cams_shapes_keys_and_scores():
    model = _model()
    h, w = 45, 38
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    scales = [img, img[:, ::2, ::2], img.repeat_interleave(2, 1)
              .repeat_interleave(2, 2)]
    data = model.data_preprocessor(
        dict(inputs=[scales], data_samples=[_sample([3, 1], (h, w))]))
    assert isinstance(data['inputs'][0], list)
    out = model.predict(data['inputs'], data['data_samples'])[0]
    assert out.cam_keys.tolist() == [3, 1]
    assert out.cam_strided.shape == (2, (h - 1) // 4 + 1, (w - 1) // 4 + 1)
    assert out.cam_high_res.shape == (2, h, w)
    assert out.cam_high_res.min() >= 0 and out.cam_high_res.max() < 1
    # scores equal an ordinary prediction of the scale-1 image
    plain = model.predict(data['inputs'][0][0][None])[0]
    assert torch.allclose(out.pred_score, plain.pred_score, atol=1e-5)


@torch.no_grad()
def test_cams_of_a_flipped_image_are_flipped():
    """Image and flip are both used, so with a flip-equivariant backbone
    the CAM of a flipped image is the flipped CAM."""
    model = _model()

    class Pointwise(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 64, 1)

        def forward(self, x):
            return (self.conv(x), )

    model.backbone = Pointwise()
    # width a multiple of 16: the reference's resize-to-multiple-of-16-then-
    # crop of the high-res map is then symmetric; nearest 2x upsampling
    # commutes with the flip
    img = torch.randint(0, 255, (3, 40, 48), dtype=torch.uint8)

    def cams(image):
        double = image.repeat_interleave(2, 1).repeat_interleave(2, 2)
        data = model.data_preprocessor(
            dict(inputs=[[image, double]],
                 data_samples=[_sample([0, 2], (40, 48))]))
        return model.predict(data['inputs'], data['data_samples'])[0]

    a, b = cams(img), cams(img.flip(-1))
    assert torch.allclose(a.cam_high_res, b.cam_high_res.flip(-1), atol=1e-5)
    assert torch.allclose(a.cam_strided, b.cam_strided.flip(-1), atol=1e-5)


def test_empty_label_set_is_refused():
    model = _model()
    img = torch.zeros(3, 16, 16, dtype=torch.uint8)
    data = model.data_preprocessor(
        dict(inputs=[[img]], data_samples=[_sample([], (16, 16))]))
    with pytest.raises(ValueError, match='img.jpg.*empty label set'):
        model.predict(data['inputs'], data['data_samples'])


def test_single_label_head():
    head = MODELS.build(
        dict(
            type='mmwsss.CAMHead',
            num_classes=5,
            in_channels=8,
            multi_label=False,
            bias=True,
            loss=dict(type='mmpretrain.CrossEntropyLoss')))
    feats = (torch.randn(3, 8, 4, 4), )
    samples = [DataSample().set_gt_label(i) for i in (0, 4, 2)]
    assert head.loss(feats, samples)['loss'] > 0
    preds = head.predict(feats)
    assert np.allclose([p.pred_score.sum().item() for p in preds], 1)
    assert all(p.pred_label.numel() == 1 for p in preds)
