# Copyright (c) mmwsss contributors. All rights reserved.
import math
import uuid

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwsss.models.cct import CCT_DECODERS, PERTURBATIONS, CCTHead

NUM_CLASSES = 3
SIZE = 16  # input size; features at SIZE / 8


def _head(**kwargs):
    # the head runs in mmseg's scope (its configs' default_scope); another
    # test's scope would give it another library's CrossEntropyLoss
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return CCTHead(
        in_channels=8,
        channels=6,
        num_classes=NUM_CLASSES,
        pool_scales=(1, 2),
        norm_cfg=dict(type='BN', requires_grad=True),
        **kwargs)


def _hub(iteration=0, max_iters=100):
    """A fresh MessageHub (the current instance) at ``iteration``."""
    hub = MessageHub.get_instance(f'cct-test-{uuid.uuid4().hex}')
    hub.update_info('iter', iteration)
    hub.update_info('max_iters', max_iters)
    return hub


def _samples(flags, label_value=None):
    samples = []
    rng = np.random.default_rng(0)
    for flag in flags:
        labels = rng.integers(0, NUM_CLASSES, (1, SIZE, SIZE))
        if label_value is not None and not flag:
            labels[:] = label_value
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.as_tensor(labels))
        sample.set_metainfo(
            dict(pixel_labelled=flag, img_shape=(SIZE, SIZE),
                 ori_shape=(SIZE, SIZE)))
        samples.append(sample)
    return samples


def _inputs(n):
    torch.manual_seed(1)
    return [torch.randn(n, 8, SIZE // 8, SIZE // 8)]


def test_cct_builds_its_thirty_decoders():
    head = _head()
    assert len(head.aux_decoders) == sum(CCT_DECODERS.values()) == 30
    for name in PERTURBATIONS:
        assert head.perturbations.count(name) == CCT_DECODERS[name]
    assert not hasattr(head, 'conv_seg')
    few = _head(num_decoders=dict(vat=1, feature_noise=2))
    assert few.perturbations == ['vat', 'feature_noise', 'feature_noise']
    with pytest.raises(ValueError, match='Unknown CCT perturbations'):
        _head(num_decoders=dict(rotation=1))


def test_every_perturbation_changes_the_features():
    head = _head()
    torch.manual_seed(2)
    features = torch.rand(2, 6, 8, 8) + 0.1
    main = torch.zeros(2, NUM_CLASSES, 64, 64)
    main[:, 1, 16:48, 16:48] = 5.  # one object of 4 x 4 feature positions
    foreground = np.zeros((2, 8, 8), bool)
    foreground[:, 2:6, 2:6] = True
    for name in PERTURBATIONS:
        perturbed = head.perturb(name, features, main, head.aux_decoders[0],
                                 foreground)
        assert perturbed.shape == features.shape, name
        assert not torch.equal(perturbed, features), name


def test_loss_routes_each_sample_to_its_losses():
    head = _head()
    _hub()
    losses = head.loss(_inputs(4), _samples([True, False, True, False]), {})
    assert set(losses) == {'loss_ce', 'acc_seg', 'loss_unsup', 'loss_weak'}
    assert all(torch.isfinite(v).all() for v in losses.values())
    only_labelled = head.loss(_inputs(2), _samples([True, True]), {})
    assert set(only_labelled) == {'loss_ce', 'acc_seg'}
    only_weak = head.loss(_inputs(2), _samples([False, False]), {})
    assert set(only_weak) == {'loss_unsup', 'loss_weak'}
    no_weak_loss = _head(weak_loss_weight=0.)
    assert 'loss_weak' not in no_weak_loss.loss(
        _inputs(2), _samples([True, False]), {})


def test_supervised_loss_trains_the_main_decoder_only():
    head = _head()
    _hub()
    losses = head.loss(_inputs(2), _samples([True, False]), {})
    losses['loss_ce'].backward()
    assert head.main_decoder.classifier.weight.grad.abs().sum() > 0
    assert all(d.classifier.weight.grad is None for d in head.aux_decoders)
    head.zero_grad(set_to_none=True)
    losses = head.loss(_inputs(2), _samples([True, False]), {})
    losses['loss_unsup'].backward()
    # the main prediction is the target: only the encoder and the
    # auxiliary decoders learn from the consistency loss
    assert head.main_decoder.classifier.weight.grad is None
    assert head.bottleneck.conv.weight.grad.abs().sum() > 0
    # (a masked decoder may see only zeros, hence no non-zero gradient)
    assert all(d.classifier.weight.grad is not None for d in head.aux_decoders)
    assert sum(d.classifier.weight.grad.abs().sum()
               for d in head.aux_decoders) > 0


def test_unsupervised_losses_follow_the_rampup():
    head = _head()

    def losses_at(iteration):
        _hub(iteration, max_iters=100)  # ramp-up: 10 iterations
        torch.manual_seed(3)
        np.random.seed(3)
        return head.loss(_inputs(2), _samples([True, False]), {})

    start, end = losses_at(0), losses_at(10)
    assert start['loss_unsup'].item() == pytest.approx(
        end['loss_unsup'].item() * math.exp(-5), rel=1e-5)
    assert start['loss_weak'].item() == pytest.approx(
        end['loss_weak'].item() * math.exp(-5), rel=1e-5)
    assert start['loss_ce'].item() == pytest.approx(end['loss_ce'].item())
    # at full weight: loss_weak = 0.4 x the auxiliary decoders' mean CE
    assert end['loss_unsup'] > 0 and end['loss_weak'] > 0


def test_ignored_pseudo_masks_give_no_weak_loss():
    head = _head()
    _hub(50)
    losses = head.loss(
        _inputs(2), _samples([True, False], label_value=255), {})
    assert losses['loss_weak'].item() == 0


def test_loss_needs_the_flag_and_the_runner_iteration():
    head = _head()
    samples = _samples([True, False])
    del samples[0].pixel_labelled
    _hub()
    with pytest.raises(KeyError, match='pixel_labelled'):
        head.loss(_inputs(2), samples, {})
    MessageHub.get_instance(f'cct-test-{uuid.uuid4().hex}')  # no info
    with pytest.raises(RuntimeError, match='max_iters'):
        head.loss(_inputs(2), _samples([False, False]), {})


def test_inference_is_the_main_decoder():
    head = _head().eval()
    inputs = _inputs(2)
    logits = head.forward(inputs)
    assert logits.shape == (2, NUM_CLASSES, SIZE, SIZE)
    assert torch.equal(logits, head.main_decoder(head.encode(inputs)))
    metas = [s.metainfo for s in _samples([True, True])]
    predicted = head.predict(inputs, metas, dict(mode='whole'))
    assert predicted.shape == (2, NUM_CLASSES, SIZE, SIZE)


def test_loss_waits_for_the_device_once_per_batch():
    from mmwsss.testing import DeviceLikeTensor, count_host_syncs
    head = _head()
    _hub(5)
    inputs = [x.as_subclass(DeviceLikeTensor) for x in _inputs(4)]
    with count_host_syncs() as syncs:
        head.loss(inputs, _samples([True, False, True, False]), {})
    # one transfer of the predicted objects for the guided cutout, and the
    # masking of ignored pixels in mmseg's accuracy (acc_seg)
    assert sorted(syncs['ops']) == ['boolean index', 'cpu']


def test_weak_loss_stands_without_the_consistency_loss():
    head = _head(unsup_loss_weight=0.)
    _hub(50)
    losses = head.loss(_inputs(2), _samples([True, False]), {})
    assert losses['loss_unsup'].item() == 0
    assert torch.isfinite(losses['loss_weak']) and losses['loss_weak'] > 0
