# Copyright (c) mmwsss contributors. All rights reserved.
"""FickleNetCAMHead: loading a 1x1 CAM head, stochastic draws, training."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS

init_default_scope('mmpretrain')


def _generator(seed=0):
    return torch.Generator().manual_seed(seed)


def _head(**kwargs):
    cfg = dict(type='mmwsss.FickleNetCAMHead', num_classes=3, in_channels=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


@pytest.mark.parametrize('channel_shared', [True, False])
@pytest.mark.parametrize('drop_prob', [0.6, 0.0])
def test_head_draws_do_not_depend_on_draws_per_batch(channel_shared,
                                                     drop_prob):
    torch.manual_seed(0)
    feats = (torch.randn(2, 4, 5, 6), )
    one_batch = _head(
        draws_per_batch=5, channel_shared=channel_shared,
        drop_prob=drop_prob, bias=True).eval()
    draws = one_batch.forward_cams(feats, _generator(9), num_draws=5)
    assert draws.shape == (10, 3, 5, 6)
    for per_batch in (1, 2):
        head = _head(
            draws_per_batch=per_batch,
            channel_shared=channel_shared,
            drop_prob=drop_prob,
            bias=True).eval()
        head.load_state_dict(one_batch.state_dict())
        assert torch.equal(
            head.forward_cams(feats, _generator(9), num_draws=5), draws)
    # the draws differ from each other (with dropout)
    assert torch.equal(draws[0], draws[2]) == (drop_prob == 0)
    with pytest.raises(ValueError):
        _head(draws_per_batch=0)


def test_head_loads_a_1x1_cam_head_and_starts_as_its_cam():
    torch.manual_seed(0)
    plain = MODELS.build(
        dict(type='mmwsss.CAMHead', num_classes=3, in_channels=4))
    feats = (torch.randn(2, 4, 5, 6), )
    center = _head()
    center.load_state_dict(plain.state_dict())
    assert center.classifier.weight.shape == (3, 4, 3, 3)
    # off-centre taps are zero and centres are never dropped: every draw
    # is the plain CAM
    for _ in range(3):
        torch.testing.assert_close(
            center.forward_cams(feats), plain.forward_cams(feats))
    uniform = _head(init_from_1x1='uniform', drop_prob=0.0)
    uniform.load_state_dict(plain.state_dict())
    box = F.avg_pool2d(
        plain.forward_cams(feats), 3, 1, 1, count_include_pad=True)
    torch.testing.assert_close(uniform.forward_cams(feats), box)
    # a k x k checkpoint loads as is
    again = _head()
    again.load_state_dict(uniform.state_dict())
    torch.testing.assert_close(again.classifier.weight,
                               uniform.classifier.weight)


def test_head_is_stochastic_in_eval_and_trains():
    torch.manual_seed(0)
    head = _head().eval()
    feats = (torch.randn(2, 4, 5, 6), )
    a = head.forward_cams(feats, generator=_generator(5))
    b = head.forward_cams(feats, generator=_generator(5))
    c = head.forward_cams(feats, generator=_generator(6))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    draws = head.forward_cams(feats, generator=_generator(5), num_draws=4)
    assert draws.shape == (8, 3, 5, 6)
    # the logits are the spatial mean of one draw's maps
    torch.manual_seed(1)
    logits = head(feats)
    torch.manual_seed(1)
    torch.testing.assert_close(logits, head.forward_cams(feats).mean((2, 3)))

    head.train()
    samples = [
        DataSample().set_gt_label([0]),
        DataSample().set_gt_label([1, 2])
    ]
    loss = head.loss(feats, samples)['loss']
    loss.backward()
    grad = head.classifier.weight.grad
    assert torch.isfinite(loss) and grad.abs()[..., 0, 0].sum() > 0
    preds = head.predict(feats)
    assert preds[0].pred_score.shape == (3, )
