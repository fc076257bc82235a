# Copyright (c) mmwsss contributors. All rights reserved.
import copy

import pytest
import torch

from mmwsss.registry import MODELS

# Three transformer layers (trans_1, conv_trans_2, conv_trans_3); the
# stride-2 blocks are conv_trans_2 and conv_trans_3 (last fusion).
TINY = dict(
    type='mmwsss.AttnConformer',
    arch=dict(embed_dims=32, depths=3, num_heads=2, channel_ratio=1),
    base_channels=16)


def _backbone(**kwargs):
    torch.manual_seed(0)
    cfg = copy.deepcopy(TINY)
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.eval()
    return model


@torch.no_grad()
def test_attention_equals_manual_softmax_of_one_block():
    model = _backbone()
    layer = model.conv_trans_2.trans_block
    seen = {}
    handle = layer.attn.register_forward_pre_hook(
        lambda module, args: seen.update(x=args[0]))
    out = model.forward_attention(torch.randn(2, 3, 64, 64), keep_layers=True)
    handle.remove()
    x = seen['x']
    batch, tokens, dims = x.shape
    q, k, _ = layer.attn.qkv(x).reshape(batch, tokens, 3, 2,
                                        dims // 2).permute(2, 0, 3, 1, 4)
    manual = torch.softmax(q @ k.transpose(-2, -1) / (dims // 2)**0.5, -1)
    assert len(out['layers']) == 3
    torch.testing.assert_close(out['layers'][1], manual)
    stack = torch.stack(out['layers']).mean(dim=2)
    torch.testing.assert_close(out['attention'].total, stack.sum(0))
    torch.testing.assert_close(out['attention'].mean, stack.mean(0))
    # softmax rows, summed over the three layers
    torch.testing.assert_close(out['attention'].total.sum(-1),
                               torch.full((2, 17), 3.))


@torch.no_grad()
def test_recording_changes_no_output_and_switches_off():
    model = _backbone()
    x = torch.randn(2, 3, 64, 48)
    plain = model(x)[-1]
    out = model.forward_attention(x)
    torch.testing.assert_close(out['cls_token'], plain[1])
    torch.testing.assert_close(out['conv_map'].mean(dim=(2, 3)), plain[0])
    assert model._tap.sink is None
    assert model.forward_attention(x, with_attention=False)['attention'] \
        is None


@pytest.mark.parametrize('stride', [1, 2])
def test_token_grid_matches_the_cnn_map_at_stride_16(stride):
    model = _backbone(last_fusion_stride=stride)
    with torch.no_grad():
        out = model.forward_attention(torch.randn(1, 3, 64, 96))
    assert out['attention'].total.shape == (1, 1 + 4 * 6, 1 + 4 * 6)
    assert out['conv_map'].shape[2:] == ((4, 6) if stride == 1 else (2, 3))


def test_checkpoint_of_the_host_conformer_loads():
    host = MODELS.build(dict(TINY, type='mmpretrain.Conformer'))
    _backbone().load_state_dict(host.state_dict(), strict=True)
    with pytest.raises(ValueError, match='last_fusion_stride'):
        _backbone(last_fusion_stride=4)


def test_accumulated_attention_keeps_the_graph_and_copies_are_separate():
    model = _backbone()
    out = model.forward_attention(torch.randn(1, 3, 32, 32))
    out['attention'].total[:, 1:, 1:].pow(2).sum().backward()
    assert model.trans_1.attn.qkv.weight.grad.abs().sum() > 0
    clone = copy.deepcopy(model)
    assert clone._tap is not model._tap
    assert clone.trans_1.attn.scaled_dot_product_attention is clone._tap
