# Copyright (c) mmwsss contributors. All rights reserved.
"""HaS, CutMix, ADL, ACoL and SPG against wsolevaluation's golden vectors
(tests/data/wsol_{has,cutmix,adl,acol,spg}.npz, golden README §15-19).

Tolerances (relative to the array's max |value|): HaS, CutMix boxes,
permutations, images and lam, all masks and labels exact; CutMix logits /
loss 1e-6; ADL modules 1e-6, the VGG-ADL network 1e-5; ACoL 1e-5; SPG maps
and losses 1e-5."""
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.evaluation.functional import normalize_scoremap
from mmwsss.functional import (acol_erase_mask, adl, adl_maps,
                               adl_use_drop_mask, cutmix, cutmix_box,
                               hide_and_seek, spg_attention,
                               spg_guidance_losses)
from mmwsss.models.wsol import (ACoLHead, ADL, ADLBackbone, HideAndSeek,
                                SPGHead, WSOLCutMix)

DATA = Path(__file__).resolve().parents[2] / 'data'


def _load(name):
    return np.load(DATA / f'wsol_{name}.npz')


def _close(actual, expected, rtol):
    actual = actual.detach().numpy() if torch.is_tensor(actual) else actual
    scale = max(float(np.abs(expected).max()), 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def _params(golden, prefix):
    return {
        k[len(prefix):]: torch.from_numpy(golden[k])
        for k in golden.files if k.startswith(prefix)
    }


# ------------------------------------------------------------------ HaS
HAS = _load('has')


@pytest.mark.parametrize('case', list(HAS['case_names']))
def test_has_with_the_reference_draws(case):
    g = {k[len(case) + 1:]: HAS[k] for k in HAS.files if k.startswith(case)}
    images = torch.from_numpy(g['image_in'])
    batch, _, height, width = images.shape
    grid = int(g['grid_size'])
    draws = torch.from_numpy(g['draws'])
    if grid:
        steps = (-(-width // grid), -(-height // grid))
        draws = draws.view(batch, *steps)
        # the reference's loop variables: (b, x, y) in this order
        order = np.stack(
            np.meshgrid(
                np.arange(batch),
                np.arange(steps[0]) * grid,
                np.arange(steps[1]) * grid,
                indexing='ij'), -1).reshape(-1, 3)
        np.testing.assert_array_equal(order, g['draw_loop_vars'][:, :3])
    out = hide_and_seek(images, grid, float(g['drop_rate']), draws)
    np.testing.assert_array_equal(out.numpy(), g['image_out'])
    np.testing.assert_array_equal(
        (out == 0).all(1).numpy().astype(np.uint8), g['erase_mask'])
    # the batch augment draws Python's `random` in the same order
    random.seed(int(g['python_random_seed']))
    aug = HideAndSeek(grid, float(g['drop_rate']))
    score = torch.eye(batch, dtype=torch.long)
    out, out_score = aug(images.clone(), score)
    np.testing.assert_array_equal(out.numpy(), g['image_out'])
    assert out_score.dtype == torch.float32
    assert torch.equal(out_score, score.float())


# --------------------------------------------------------------- CutMix
CUTMIX = _load('cutmix')


@pytest.mark.parametrize('case', list(CUTMIX['case_names']))
def test_cutmix_draws_box_and_loss(case):
    g = {
        k[len(case) + 1:]: CUTMIX[k]
        for k in CUTMIX.files if k.startswith(case + '_')
    }
    images = torch.from_numpy(g['images_in'])
    target = torch.from_numpy(g['target'])
    channels = images.shape[1]
    fc = _params(CUTMIX, f'model{channels}_param.fc.')
    score = F.one_hot(target, 5)

    np.random.seed(int(g['seed']))
    torch.manual_seed(int(g['seed']))
    aug = WSOLCutMix(float(g['cutmix_beta']), float(g['cutmix_prob']))
    mixed, mixed_score = aug(images.clone(), score)
    if not g['cutmix_applied']:
        assert torch.equal(mixed_score, score.float())
        np.testing.assert_array_equal(mixed.numpy(), g['images_in'])
    else:
        np.testing.assert_array_equal(mixed.numpy(), g['images_out'])
        lam = float(g['lam'])
        expected = (lam * score.float() + (1 - lam) *
                    F.one_hot(torch.from_numpy(g['target_b']), 5).float())
        _close(mixed_score, expected.numpy(), 1e-12)
        # the pure functions from the stored draws
        height, width = images.shape[-2:]
        box = cutmix_box(height, width, float(g['lam_raw']),
                         *g['cx_cy'].tolist())
        assert list(box) == g['bbox'].tolist()
        out, _, lam_out = cutmix(images, score.float(),
                                 torch.from_numpy(g['rand_index']), box)
        np.testing.assert_array_equal(out.numpy(), g['images_out'])
        assert lam_out == lam
    logits = mixed.mean(dim=(2, 3)) @ fc['weight'].T + fc['bias']
    _close(logits, g['logits'], 1e-6)
    # soft-target cross-entropy == lam CE(a) + (1 - lam) CE(b)
    loss = F.cross_entropy(logits, mixed_score)
    _close(loss, g['loss'], 1e-6)


# ------------------------------------------------------------------ ADL
ADL_G = _load('adl')
ADL_CASES = [
    'train_importance', 'train_drop', 'train_drop_negative_input',
    'eval_identity', 'train_drop_thr08', 'train_rate05_importance'
]


@pytest.mark.parametrize('case', ADL_CASES)
def test_adl_module(case):
    g = {k[len(case) + 1:]: ADL_G[k] for k in ADL_G.files
         if k.startswith(case + '_')}
    x = torch.from_numpy(g['input'])
    layer = ADL(float(g['drop_rate']), float(g['drop_threshold']))
    layer.train(bool(g['training']))
    torch.manual_seed(int(g['torch_seed']))
    out = layer(x)
    if not g['training']:
        assert out is x
        return
    _close(out, g['output'], 1e-6)
    attention, importance, drop_mask = adl_maps(x,
                                                float(g['drop_threshold']))
    _close(attention, g['attention'], 1e-6)
    _close(importance, g['importance_map'], 1e-6)
    np.testing.assert_array_equal(drop_mask.numpy(), g['drop_mask'])
    torch.manual_seed(int(g['torch_seed']))
    use_drop = adl_use_drop_mask(torch.rand([]), float(g['drop_rate']))
    assert use_drop == bool(g['binary_tensor'])
    _close(
        adl(x, use_drop, float(g['drop_threshold'])), g['output'], 1e-6)
    if case == 'train_drop_negative_input':
        assert drop_mask.all()


def _vgg_adl(params):
    """The golden VGG-ADL (features 8-M-16-ADL-M-16-ADL, conv6, fc) with the
    ADL layers as hooks of :class:`ADLBackbone`."""
    features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
    # reference indices 0, 3, 7 (ADL at 5 and 9) -> ours 0, 3, 6
    features.load_state_dict({
        k.replace('features.7', 'features.6')[len('features.'):]: v
        for k, v in params.items() if k.startswith('features.')
    })

    backbone = ADLBackbone(
        features, ('4', '7'), drop_rate=0.75, drop_threshold=0.9)
    conv6 = nn.Conv2d(16, 32, 3, padding=1)
    conv6.load_state_dict({'weight': params['conv6.weight'],
                           'bias': params['conv6.bias']})
    return backbone, conv6, params['fc.weight'], params['fc.bias']


def test_vgg_adl_network():
    params = _params(ADL_G, 'vggadl_param.')
    backbone, conv6, fc_w, fc_b = _vgg_adl(params)
    images = torch.from_numpy(ADL_G['vggadl_images'])
    labels = torch.from_numpy(ADL_G['vggadl_labels'])

    def run():
        fmap = F.relu(conv6(backbone(images)))
        return fmap, fmap.mean(dim=(2, 3)) @ fc_w.T + fc_b

    backbone.train()
    torch.manual_seed(int(ADL_G['vggadl_train_torch_seed']))
    _, logits = run()
    _close(logits, ADL_G['vggadl_train_logits'], 1e-5)
    backbone.eval()
    with torch.no_grad():
        fmap, logits = run()
    _close(logits, ADL_G['vggadl_eval_logits'], 1e-5)
    cams = (fc_w[labels][:, :, None, None] * fmap).mean(1)
    _close(cams, ADL_G['vggadl_eval_cams'], 1e-5)
    for cam, expected in zip(cams.numpy(), ADL_G['vggadl_eval_scoremaps']):
        # the reference's cv2 dsize quirk: its maps are (W, H)
        np.testing.assert_allclose(
            normalize_scoremap(cam, expected.shape), expected, atol=1e-4)


# ----------------------------------------------------------------- ACoL
ACOL = _load('acol')


def _acol_head():
    head = ACoLHead(
        num_classes=5,
        in_channels=16,
        hidden_channels=24,
        drop_threshold=float(ACOL['drop_threshold']))
    params = _params(ACOL, 'param.')
    head.classifier.load_state_dict({
        k[len('classifier_A.'):]: v
        for k, v in params.items() if k.startswith('classifier_A.')
    })
    head.classifier_b.load_state_dict({
        k[len('classifier_B.'):]: v
        for k, v in params.items() if k.startswith('classifier_B.')
    })
    return head.eval()


@pytest.mark.parametrize('tag', ['gt', 'nolabel'])
def test_acol_branches(tag):
    head = _acol_head()
    feature = torch.from_numpy(ACOL[f'{tag}_feature'])
    labels = torch.from_numpy(ACOL['labels']) if tag == 'gt' else None
    with torch.no_grad():
        out = head.branches((feature, ), labels)
    np.testing.assert_array_equal(out['labels'].numpy(),
                                  ACOL[f'{tag}_attention_labels'])
    _close(out['attention'], ACOL[f'{tag}_attention'], 1e-5)
    np.testing.assert_array_equal(out['erase_mask'].numpy(),
                                  ACOL[f'{tag}_erase_mask'])
    for key, ref in (('feat_map_a', 'feat_map_a'), ('feat_map_b',
                                                    'feat_map_b'),
                     ('logits', 'logits'), ('logits_b', 'logit_b')):
        _close(out[key], ACOL[f'{tag}_{ref}'], 1e-5)
    _, mask = acol_erase_mask(out['feat_map_a'], out['labels'],
                              float(ACOL['drop_threshold']))
    np.testing.assert_array_equal(mask.numpy(), ACOL[f'{tag}_erase_mask'])


def test_acol_loss_and_cams():
    from mmpretrain.structures import DataSample
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    head = _acol_head()
    feature = torch.from_numpy(ACOL['gt_feature'])
    labels = torch.from_numpy(ACOL['labels'])
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    losses = head.loss((feature, ), samples)
    _close(losses['loss'] + losses['loss_erased'], ACOL['gt_loss'], 1e-5)
    with torch.no_grad():
        cams = head.class_maps((feature, ), labels)
    _close(cams, ACOL['cams'], 1e-5)
    for cam, expected in zip(cams.numpy(), ACOL['scoremaps']):
        np.testing.assert_allclose(
            normalize_scoremap(cam, expected.shape), expected, atol=1e-4)


# ------------------------------------------------------------------ SPG
SPG = _load('spg')
THRESHOLDS = SPG['spg_thresholds'].tolist()


def _spg_check(prefix, attention, fused, losses, masks, loss_cls):
    _close(attention, SPG[f'{prefix}attention'], 1e-5)
    _close(fused, SPG[f'{prefix}fused_attention'], 1e-5)
    for key in ('b2_att', 'b1_b2i', 'c1_fus'):
        np.testing.assert_array_equal(masks[f'mask_{key}'].numpy(),
                                      SPG[f'{prefix}mask_{key}'])
        _close(losses[f'loss_{key}'], SPG[f'{prefix}loss_{key}'], 1e-5)
    _close(loss_cls, SPG[f'{prefix}loss_cls'], 1e-5)
    total = loss_cls + sum(losses.values())
    _close(total, SPG[f'{prefix}loss'], 1e-5)


def test_spg_synthetic_fallback():
    target = torch.from_numpy(SPG['syn_target'])
    b1, b2, c = (torch.from_numpy(SPG[f'syn_logits_{k}'])
                 for k in ('b1', 'b2', 'c'))
    attention, fused = spg_attention(
        torch.from_numpy(SPG['syn_feat_map']), target, b1, b2)
    losses, masks = spg_guidance_losses(b1, b2, c, attention, fused,
                                        THRESHOLDS)
    loss_cls = F.cross_entropy(torch.from_numpy(SPG['syn_logits']), target)
    _spg_check('syn_', attention, fused, losses, masks, loss_cls)
    # the fallback fired for image 0 of b2i and fused only
    assert SPG['syn_count_above_high_thr'][1:, 0].max() < 30


def test_spg_network_with_the_head():
    from mmpretrain.structures import DataSample
    from mmengine.registry import init_default_scope
    init_default_scope('mmpretrain')
    params = _params(SPG, 'net_param.')

    def block(name, convs):
        layers = []
        for _ in range(convs):
            layers += [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()]
        seq = nn.Sequential(*layers)
        seq.load_state_dict({
            k[len(name) + 1:]: v
            for k, v in params.items() if k.startswith(name + '.')
        })
        return seq

    features = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2))
    features.load_state_dict({
        k[len('features.'):]: v
        for k, v in params.items() if k.startswith('features.')
    })
    a1, a2, a3 = block('SPG_A_1', 3), block('SPG_A_2', 3), block('SPG_A_3', 2)
    head = SPGHead(
        num_classes=5,
        in_channels=16,
        side_in_channels=(16, 16),
        side_channels=16,
        c_channels=16,
        thresholds=THRESHOLDS)
    rename = {
        'SPG_A_4': 'classifier',
        'SPG_B_1a': 'branch_b1',
        'SPG_B_2a': 'branch_b2',
        'SPG_B_shared': 'branch_shared',
        'SPG_C': 'branch_c'
    }
    head.load_state_dict({
        rename[k.split('.')[0]] + k[len(k.split('.')[0]):]: v
        for k, v in params.items() if k.split('.')[0] in rename
    })
    images = torch.from_numpy(SPG['net_images'])
    target = torch.from_numpy(SPG['net_target'])
    x1 = F.max_pool2d(a1(features(images)), 3, 2, 1)
    x2 = a2(x1)
    feats = (x1, x2, a3(x2))
    b1, b2, c = head.side_logits(feats)
    _close(b1, SPG['net_logits_b1'], 1e-5)
    _close(b2, SPG['net_logits_b2'], 1e-5)
    _close(c, SPG['net_logits_c'], 1e-5)
    _close(head(feats), SPG['net_logits'], 1e-5)
    attention, fused = spg_attention(
        head.forward_cams(feats), target, b1, b2)
    losses, masks = spg_guidance_losses(b1, b2, c, attention, fused,
                                        THRESHOLDS)
    loss_cls = F.cross_entropy(head(feats), target)
    _spg_check('net_', attention, fused, losses, masks, loss_cls)
    samples = [DataSample().set_gt_label(int(y)) for y in target]
    head_losses = head.loss(feats, samples)
    _close(sum(head_losses.values()), SPG['net_loss'], 1e-5)
    cams = head.class_maps(feats, target)
    _close(cams, SPG['net_cams'], 1e-5)
    for cam, expected in zip(cams.detach().numpy(), SPG['net_scoremaps']):
        np.testing.assert_allclose(
            normalize_scoremap(cam, expected.shape), expected, atol=1e-4)
