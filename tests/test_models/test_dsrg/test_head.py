# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmwsss.models.dsrg.head as head_module
from mmwsss.functional import (balanced_seed_loss, constrain_loss,
                               dsrg_grow_batch, dsrg_softmax)
from mmwsss.registry import MODELS
from mmwsss.testing import DeviceLikeTensor, count_host_syncs

init_default_scope('mmseg')
NUM_CLASSES = 4


def _samples(seeds, gt_labels=None):
    samples = []
    for i, seed in enumerate(seeds):
        meta = dict(img_shape=seed.shape)
        if gt_labels is not None:
            meta['gt_label'] = gt_labels[i]
        sample = SegDataSample(metainfo=meta)
        sample.gt_sem_seg = PixelData(data=torch.as_tensor(seed)[None])
        samples.append(sample)
    return samples


@pytest.fixture
def batch():
    torch.manual_seed(0)
    features = torch.randn(2, 8, 6, 6)
    images = torch.randn(2, 3, 48, 48) * 40
    seeds = np.full((2, 48, 48), 255, np.uint8)
    seeds[0, :16, :16] = 1
    seeds[0, 32:, 32:] = 0
    seeds[1, 8:24, 24:40] = 3
    seeds[1, 40:, :] = 0
    return features, images, seeds


def _head(**kwargs):
    head = MODELS.build(
        dict(
            type='mmwsss.DSRGHead',
            in_channels=8,
            num_classes=NUM_CLASSES,
            dilations=(1, 2),
            **kwargs))
    head.init_weights()
    return head


def test_head_losses_match_the_functions(batch, monkeypatch):
    features, images, seeds = batch
    head = _head(crf_scale_factor=20.)
    mean = (104., 117., 123.)
    calls = []

    def grow(labels, seed_labels, *args):
        calls.append((labels.copy(), seed_labels.copy(), args[3:]))
        return dsrg_grow_batch(labels, seed_labels, *args)

    monkeypatch.setattr(head_module, 'dsrg_grow_batch', grow)
    # Image 0 also has class 2 (no seed); image 1 only its seeded class.
    losses = head.loss((features, ),
                       _samples(seeds, gt_labels=[[0, 1], [2]]), {}, images,
                       mean)
    assert set(losses) == {'loss_seed', 'loss_constrain'}
    labels, small_seeds, rest = calls[0]
    np.testing.assert_array_equal(labels, [[1, 1, 1, 0], [1, 0, 0, 1]])
    np.testing.assert_array_equal(small_seeds, seeds[:, ::8, ::8])
    assert rest == (20., 0.99, 0.85)

    probs = dsrg_softmax(head.forward((features, )))
    refined, grown = dsrg_grow_batch(labels, small_seeds, probs, images, mean,
                                     20., 0.99, 0.85)
    assert grown.sum() > (small_seeds != 255).sum()  # the seeds grew
    torch.testing.assert_close(losses['loss_seed'],
                               balanced_seed_loss(probs,
                                                  torch.as_tensor(grown)))
    torch.testing.assert_close(
        losses['loss_constrain'],
        constrain_loss(probs, torch.log(torch.as_tensor(refined).float())))

    # Without gt_label, the image classes are those of the seeds.
    head.loss((features, ), _samples(seeds), {}, images, mean)
    np.testing.assert_array_equal(calls[1][0], [[1, 1, 0, 0], [1, 0, 0, 1]])


def test_head_backward_reaches_the_classifier(batch):
    features, images, seeds = batch
    head = _head()
    losses = head.loss((features, ), _samples(seeds), {}, images,
                       (0., 0., 0.))
    sum(losses.values()).backward()
    for conv in head.aspp_convs:
        assert conv.weight.grad is not None
        assert conv.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('batch_size', [2, 4])
def test_head_transfers_once_per_batch(batch, batch_size):
    """Device-like inputs: no bare ``.numpy()``, and the host transfers do
    not grow with the batch."""
    features, images, seeds = batch
    repeat = batch_size // 2
    features = features.repeat(repeat, 1, 1, 1).as_subclass(DeviceLikeTensor)
    images = images.repeat(repeat, 1, 1, 1).as_subclass(DeviceLikeTensor)
    samples = _samples(np.concatenate([seeds] * repeat))
    for sample in samples:
        sample.gt_sem_seg.data = sample.gt_sem_seg.data.as_subclass(
            DeviceLikeTensor)
    head = _head()
    with count_host_syncs() as syncs:
        losses = head.loss((features, ), samples, {}, images, (0., 0., 0.))
    sum(losses.values()).backward()
    assert syncs['count'] == 3, syncs['ops']  # seeds, probabilities, images
