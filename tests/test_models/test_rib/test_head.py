# Copyright (c) mmwsss contributors. All rights reserved.
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from mmwsss.functional import gndrp_pool
from mmwsss.registry import MODELS


def _head(num_classes, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        dict(
            type='mmwsss.GNDRPCAMHead',
            num_classes=num_classes,
            in_channels=8,
            **kwargs))


def test_loss_is_bce_on_gndrp_logits_for_many_classes():
    head = _head(81, tau=0.3)
    feats = (torch.rand(3, 8, 5, 6), )
    samples = [
        DataSample().set_gt_label(labels) for labels in ([80], [3, 45], [0])
    ]
    target = torch.zeros(3, 81)
    for row, sample in zip(target, samples):
        row[sample.gt_label] = 1
    raw = head.forward_cams(feats)
    expected = F.binary_cross_entropy_with_logits(
        gndrp_pool(raw, target, 0.3), target)
    loss = head.loss(feats, samples)['loss']
    torch.testing.assert_close(loss, expected)
    # GNDRP differs from GAP on the label classes only
    assert not torch.allclose(loss, head.loss_module(head(feats), target))
    # prediction still pools everything (no labels at test time)
    torch.testing.assert_close(head(feats), raw.mean((2, 3)))


def test_gradient_only_from_the_non_discriminative_pixels():
    head = _head(1, tau=0.5)
    with torch.no_grad():
        head.classifier.weight.abs_()
    feats = torch.rand(1, 8, 4, 4) + 0.1
    feats[..., 1:3, 2] += 5  # the discriminative part
    feats.requires_grad_(True)
    loss = head.loss((feats, ), [DataSample().set_gt_label([0])])['loss']
    loss.backward()
    grad = feats.grad[0].abs().sum(0)
    with torch.no_grad():
        raw = head.forward_cams((feats, ))[0, 0]
    dropped = raw / raw.max() >= 0.5
    assert dropped.sum() == 2 and dropped[1:3, 2].all()
    assert (grad[dropped] == 0).all() and (grad[~dropped] > 0).all()


def test_single_label_training_step():
    head = _head(5, multi_label=False,
                 loss=dict(type='mmpretrain.CrossEntropyLoss'))
    feats = (torch.rand(4, 8, 3, 3, requires_grad=True), )
    samples = [DataSample().set_gt_label(i) for i in (0, 4, 2, 2)]
    loss = head.loss(feats, samples)['loss']
    labels = F.one_hot(torch.tensor([0, 4, 2, 2]), 5)
    expected = F.cross_entropy(
        gndrp_pool(head.forward_cams(feats), labels), torch.tensor(
            [0, 4, 2, 2]))
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert head.classifier.weight.grad.abs().sum() > 0
