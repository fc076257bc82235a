# Copyright (c) mmwsss contributors. All rights reserved.
"""RIBAdvCAMClassifier: AdvCAM's climbing on the last RIB-fine-tuned model
of each image, as one CAM job."""
import torch
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from .test_classifier import NUM_CLASSES, _item, _predict, _state

init_default_scope('mmpretrain')

BASE = dict(
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
        out_indices=(3, ),
        frozen_stages=2),
    head=dict(type='mmwsss.CAMHead', num_classes=NUM_CLASSES, in_channels=64))
RIB = dict(num_iters=3, lr=0.05, stop_th=None, explode_ratio=None)
ADVCAM = dict(adv_iter=2)


def _build(type, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(dict(BASE, type=type, **kwargs))
    model.init_weights()
    return model.eval()


def _cams(sample):
    return sample.cam_keys, sample.cam_strided, sample.cam_high_res


def _assert_same_cams(one, two):
    for a, b in zip(_cams(one), _cams(two)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_climbs_on_the_last_fine_tuned_model(monkeypatch):
    item = _item([1, 3])
    model = _build('mmwsss.RIBAdvCAMClassifier', **RIB, **ADVCAM)
    initial = _state(model)
    combined = _predict(model, item)
    assert combined.rib_steps == 3 and combined.rib_stop == 'iters'
    # the image's fine-tuning is undone
    for key, value in model.state_dict().items():
        assert torch.equal(value, initial[key]), key

    # The maps RIB accumulates with K = 3 are those of theta_0..theta_2:
    # the weights before its third (last) update.
    rib = _build('mmwsss.RIBClassifier', **RIB)
    before_updates = []
    make_optimizer = rib._optimizer

    def recording_optimizer(params):
        optimizer = make_optimizer(params)
        update = optimizer.step

        def step(*args, **kwargs):
            before_updates.append(_state(rib))
            return update(*args, **kwargs)

        optimizer.step = step
        return optimizer

    monkeypatch.setattr(rib, '_optimizer', recording_optimizer)
    _predict(rib, item)
    assert len(before_updates) == 3
    advcam = _build('mmwsss.AdvCAMClassifier', **ADVCAM)
    advcam.load_state_dict(before_updates[-1])
    _assert_same_cams(combined, _predict(advcam, item))
    # ... and differ from AdvCAM on the initial weights
    plain = _predict(_build('mmwsss.AdvCAMClassifier', **ADVCAM), item)
    assert not torch.allclose(combined.cam_strided, plain.cam_strided)


def test_logit_stop_at_the_first_step_climbs_on_the_initial_model():
    # |logits| > 0 stops after the first update, whose model RIB drops
    item = _item([0, 2, 4], seed=3)
    model = _build('mmwsss.RIBAdvCAMClassifier',
                   **dict(RIB, stop_th=0.0), **ADVCAM)
    combined = _predict(model, item)
    assert combined.rib_steps == 1 and combined.rib_stop == 'logits'
    plain = _predict(_build('mmwsss.AdvCAMClassifier', **ADVCAM), item)
    _assert_same_cams(combined, plain)
