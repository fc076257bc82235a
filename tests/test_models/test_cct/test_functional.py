# Copyright (c) mmwsss contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmwsss.models.cct import (UpsamplingDecoder, cct_consistency_loss,
                               cct_rampup_weight, context_masking,
                               feature_dropout, feature_noise,
                               guided_cutout_mask, object_masking,
                               vat_perturbation)


def test_rampup_is_a_sigmoid_from_e_minus_5_to_the_final_weight():
    assert cct_rampup_weight(0, 100, 30.) == pytest.approx(30 * math.exp(-5))
    assert cct_rampup_weight(50, 100, 30.) == pytest.approx(
        30 * math.exp(-5 * 0.25))
    assert cct_rampup_weight(100, 100, 30.) == 30.
    assert cct_rampup_weight(5000, 100, 30.) == 30.
    weights = [cct_rampup_weight(i, 100, 30.) for i in range(101)]
    assert all(a < b for a, b in zip(weights, weights[1:]))
    # no ramp-up: full weight from the start
    assert cct_rampup_weight(0, 0, 30.) == 30.


def test_consistency_loss_on_a_hand_case():
    # softmax(0, 0) = (1/2, 1/2) against softmax(log 3, 0) = (3/4, 1/4):
    # every squared difference is 1/16
    aux = torch.zeros(1, 2, 2, 3, requires_grad=True)
    main = torch.zeros(1, 2, 2, 3)
    main[:, 0] = math.log(3.)
    main.requires_grad_(True)
    loss = cct_consistency_loss(aux, main)
    assert loss.item() == pytest.approx(1 / 16)
    loss.backward()
    # the main prediction is the target: no gradient into it
    assert main.grad is None
    assert aux.grad.abs().sum() > 0
    assert cct_consistency_loss(main.detach(), main).item() == 0


def test_feature_noise_is_multiplicative_and_bounded():
    torch.manual_seed(0)
    z = torch.randn(2, 4, 5, 5)
    z[0, 0] = 0.
    noisy = feature_noise(z, noise_range=0.3)
    assert noisy.shape == z.shape
    assert not torch.equal(noisy, z)
    assert torch.all((noisy - z).abs() <= 0.3 * z.abs() + 1e-7)
    assert torch.all(noisy[0, 0] == 0)  # no activation, no noise


def test_feature_dropout_zeroes_the_most_activated_positions():
    z = torch.ones(2, 3, 4, 4) * 0.1
    z[:, :, 1, 2] = 1.   # the peak: always dropped (gamma < 1)
    z[:, :, 3, 0] = 0.5  # 0.5 < 0.6 * peak: always kept
    dropped = feature_dropout(z, (0.6, 0.9))
    assert dropped.shape == z.shape
    assert torch.all(dropped[:, :, 1, 2] == 0)
    keep = torch.ones(4, 4, dtype=torch.bool)
    keep[1, 2] = False
    assert torch.equal(dropped[:, :, keep], z[:, :, keep])
    # a position above 0.9 of the peak is dropped whatever gamma is drawn
    z[:, :, 0, 0] = 0.95
    assert torch.all(feature_dropout(z, (0.6, 0.9))[:, :, 0, 0] == 0)


def _main_logits_with_object():
    """(1, 3, 8, 8) logits: class 2 wins on rows 0-3, background below."""
    logits = torch.zeros(1, 3, 8, 8)
    logits[:, 0, 4:] = 5.
    logits[:, 2, :4] = 5.
    return logits


def test_guided_masking_splits_objects_from_context():
    z = torch.randn(1, 4, 4, 4)  # half the logits' resolution
    logits = _main_logits_with_object()
    context_masked = context_masking(z, logits)
    object_masked = object_masking(z, logits)
    # objects on feature rows 0-1
    assert torch.equal(context_masked[:, :, :2], z[:, :, :2])
    assert torch.all(context_masked[:, :, 2:] == 0)
    assert torch.all(object_masked[:, :, :2] == 0)
    assert torch.equal(object_masked[:, :, 2:], z[:, :, 2:])
    assert torch.allclose(context_masked + object_masked, z)


def test_guided_cutout_cuts_a_box_inside_each_object():
    foreground = np.zeros((2, 20, 20), bool)
    foreground[0, 2:12, 1:6] = True    # 10 x 5 object
    foreground[0, 14:19, 10:20] = True  # 5 x 10 object, apart
    keep = guided_cutout_mask(foreground, 0.4, np.random.default_rng(0))
    assert keep.shape == foreground.shape and keep.dtype == np.float32
    # image 1 has no object: nothing cut
    assert np.all(keep[1] == 1)
    cut = keep[0] == 0
    # one box of int(0.4 * side) per object, inside its bounding box
    first, second = cut[2:12, 1:6], cut[14:19, 10:20]
    assert first.sum() == 4 * 2 and second.sum() == 2 * 4
    assert cut.sum() == first.sum() + second.sum()
    rows, cols = np.nonzero(first)
    assert np.ptp(rows) == 3 and np.ptp(cols) == 1
    # positions are random
    others = [guided_cutout_mask(foreground, 0.4, np.random.default_rng(s))
              for s in range(1, 6)]
    assert any(not np.array_equal(keep, other) for other in others)


def _kl(decoder, z, shifted):
    p = F.softmax(decoder(z), dim=1)
    log_q = F.log_softmax(decoder(shifted), dim=1)
    return F.kl_div(log_q, p, reduction='batchmean').item()


def test_vat_direction_increases_the_divergence_most():
    torch.manual_seed(0)
    decoder = UpsamplingDecoder(8, 4, upscale=2).double()
    z = torch.randn(2, 8, 5, 5, dtype=torch.float64)
    r_adv = vat_perturbation(z, decoder, xi=1e-6, eps=0.5)
    assert r_adv.shape == z.shape and not r_adv.requires_grad
    assert torch.allclose(r_adv.flatten(1).norm(dim=1),
                          torch.full((2, ), 0.5, dtype=torch.float64))
    # no gradient is left on the decoder
    assert all(p.grad is None for p in decoder.parameters())
    adversarial = _kl(decoder, z, z + r_adv)
    randoms = []
    for _ in range(10):
        d = torch.randn_like(z)
        d = 0.5 * d / d.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
        randoms.append(_kl(decoder, z, z + d))
    assert adversarial > 0
    assert adversarial > max(randoms)


def test_upsampling_decoder_shape_and_icnr_start():
    decoder = UpsamplingDecoder(6, 3, upscale=8)
    assert len(decoder.shuffles) == 3
    out = decoder(torch.randn(2, 6, 4, 5))
    assert out.shape == (2, 3, 32, 40)
    # ICNR: the four sub-pixels of each step start equal, so the output
    # is constant on 8 x 8 blocks
    blocks = out.unfold(2, 8, 8).unfold(3, 8, 8)
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))
    with pytest.raises(ValueError, match='power of 2'):
        UpsamplingDecoder(6, 3, upscale=6)


def test_logits_pass_a_relu_only_when_asked():
    torch.manual_seed(0)
    features = torch.randn(2, 6, 4, 4)
    assert (UpsamplingDecoder(6, 3, upscale=4)(features) < 0).any()
    relu = UpsamplingDecoder(6, 3, upscale=4, relu_logits=True)
    assert (relu(features) >= 0).all()
