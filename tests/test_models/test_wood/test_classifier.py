# Copyright (c) mmwsss contributors. All rights reserved.
"""WOoDClassifier: loss wiring, the OoD branch and the configs."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample

from mmwsss.models.classifiers import CAMClassifier
from mmwsss.models.wood import (WOoDClassifier, wood_distance_loss,
                                 wood_ood_loss)
from mmwsss.registry import MODELS
from mmwsss.testing import as_device_like, count_host_syncs, device_like_inputs

NUM_CLASSES = 3


def tiny_wood(**kwargs):
    torch.manual_seed(0)
    cfg = dict(
        type='mmwsss.WOoDClassifier',
        data_preprocessor=dict(
            num_classes=NUM_CLASSES, mean=[128.0] * 3, std=[64.0] * 3,
            to_onehot=True),
        backbone=dict(
            type='mmpretrain.ResNet',
            depth=18,
            base_channels=8,
            strides=(1, 2, 2, 1),
            out_indices=(3, ),
            frozen_stages=2,
            norm_eval=True),
        head=dict(
            type='mmwsss.CAMHead', num_classes=NUM_CLASSES, in_channels=64),
        num_ood_clusters=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _batch(n, seed, labels=None):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (n, 3, 32, 32), generator=g,
                           dtype=torch.uint8)
    samples = []
    for i in range(n):
        sample = DataSample()
        if labels is not None:
            sample.set_gt_label(labels[i])
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _ready(model):
    g = torch.Generator().manual_seed(1)
    model.set_centers(torch.rand(NUM_CLASSES, 64, generator=g),
                      torch.rand(4, 64, generator=g))
    return model


def test_is_a_cam_classifier_with_centre_buffers():
    model = tiny_wood()
    assert isinstance(model, CAMClassifier)
    state = model.state_dict()
    assert state['wood_class_centers'].shape == (NUM_CLASSES, 64)
    assert state['wood_ood_centers'].shape == (4, 64)
    assert not model.centers_ready
    with pytest.raises(ValueError, match='shape'):
        model.set_centers(torch.zeros(2, 64), torch.zeros(4, 64))
    with pytest.raises(RuntimeError, match='WOoDCentersHook'):
        model.train()
        model.loss(**model.data_preprocessor(
            _batch(2, 0, [[0], [1]]), True))


def test_loss_wiring_without_ood_data():
    model = _ready(tiny_wood(distance_lambda=0.5)).train()
    data = model.data_preprocessor(_batch(4, 0, [[0], [1, 2], [2], [0]]),
                                   True)
    losses = model.loss(**data)
    assert set(losses) == {'loss', 'loss_distance'}
    feats = model.extract_feat(data['inputs'])
    targets = torch.stack([s.gt_score for s in data['data_samples']]).float()
    logits = model.head(feats)
    torch.testing.assert_close(
        losses['loss'], F.binary_cross_entropy_with_logits(logits, targets))
    torch.testing.assert_close(
        losses['loss_distance'], 0.5 * wood_distance_loss(
            feats[-1].mean((2, 3)), targets, model.wood_class_centers,
            model.wood_ood_centers, 0.2))


def test_ood_branch_all_zero_targets_and_gradients(monkeypatch):
    model = _ready(tiny_wood(
        ood_data=dict(dataset=dict(type='unused')),
        excluded_classes=())).train()
    ood = _batch(3, 7)
    monkeypatch.setattr(model, '_next_ood_batch', lambda: ood)
    data = model.data_preprocessor(_batch(4, 0, [[0], [1, 2], [2], [0]]),
                                   True)
    losses = model.loss(**data)
    assert set(losses) == {'loss', 'loss_distance', 'loss_ood'}
    assert all(torch.isfinite(v) for v in losses.values())

    # expected: one anti-adversarial step, then BCE against all-zero targets,
    # summed over the OoD images and divided by the in-distribution batch
    images = model.data_preprocessor(ood, True)['inputs']
    x = images.clone().requires_grad_(True)
    score = model.head(model.extract_feat(x)).max(1).values.sum()
    grad, = torch.autograd.grad(score, x)
    x_adv = (images + 0.07 * grad / (grad.abs().max() + 1e-12)).clamp(
        images.min(), images.max())
    with torch.no_grad():
        z_adv = model.head(model.extract_feat(x_adv))
        z_clean = model.head(model.extract_feat(images))
    assert (z_adv.max(1).values > z_clean.max(1).values).all()
    expected = F.binary_cross_entropy_with_logits(
        z_adv, torch.zeros_like(z_adv), reduction='none').mean(1).sum() / 4
    torch.testing.assert_close(losses['loss_ood'], 0.25 * expected)

    model.zero_grad()
    sum(losses.values()).backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0
    assert model.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
    assert model.backbone.layer3[0].conv1.weight.grad.abs().sum() > 0
    # frozen like the reference's optimizer (layer3, layer4, classifier)
    assert model.backbone.layer2[0].conv1.weight.grad is None
    # the perturbation took no parameter gradient of its own: the OoD term
    # alone gives the same classifier gradient as the full backward of it
    model.zero_grad()
    losses = model.loss(**data)
    losses['loss_ood'].backward()
    head_grad = model.head.classifier.weight.grad.clone()
    model.zero_grad()
    with torch.no_grad():
        feats = model.extract_feat(x_adv)
    z = model.head(feats)
    (0.25 * wood_ood_loss(z, 4, None)).backward()
    torch.testing.assert_close(head_grad, model.head.classifier.weight.grad)


def test_excluded_classes_and_divisor(monkeypatch):
    model = _ready(tiny_wood(
        ood_data=dict(dataset=dict(type='unused')),
        ood_step_size=0.0,
        ood_loss_divisor=10)).train()
    ood = _batch(3, 7)
    monkeypatch.setattr(model, '_next_ood_batch', lambda: ood)
    data = model.data_preprocessor(_batch(2, 0, [[0], [1]]), True)
    with torch.no_grad():
        z = model.head(model.extract_feat(
            model.data_preprocessor(ood, True)['inputs']))
    top = z.argmax(1)
    model.excluded_classes = (int(top[0]), )
    loss = model.loss(**data)['loss_ood']
    keep = top != top[0]
    expected = F.softplus(z)[keep].mean(1).sum() / 10
    torch.testing.assert_close(loss, 0.25 * expected)
    assert keep.sum() < 3


def test_training_steps_do_not_wait_for_the_device(monkeypatch):
    model = _ready(tiny_wood(
        ood_data=dict(dataset=dict(type='unused')),
        excluded_classes=(1, ))).train()
    ood = _batch(3, 7)
    monkeypatch.setattr(model, '_next_ood_batch', lambda: ood)
    # a resumed run: the centres come from a state dict
    model.load_state_dict(model.state_dict())
    for name in ('wood_class_centers', 'wood_ood_centers',
                 'wood_centers_ready'):
        setattr(model, name, as_device_like(getattr(model, name)))
    with device_like_inputs():
        data = model.data_preprocessor(
            _batch(4, 0, [[0], [1, 2], [2], [0]]), True)
        steps = []
        for _ in range(3):
            with count_host_syncs() as syncs:
                sum(model.loss(**data).values()).backward()
            steps.append(syncs)
    # the first step reads whether the loaded centres are set, no more
    assert steps[0]['ops'] == ['bool']
    assert steps[1]['count'] == steps[2]['count'] == 0, steps[1]['ops']


def test_loaded_state_without_centres_is_not_ready():
    model = _ready(tiny_wood())
    assert model.centers_ready
    model.load_state_dict(tiny_wood().state_dict())
    assert not model.centers_ready


@pytest.mark.gpu
def test_cuda_training_step_equals_cpu(monkeypatch):
    # float32 without TF32 convolutions (TF32 matmuls are off by default),
    # so that only rounding differs between devices.
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    batch = _batch(4, 0, [[0], [1, 2], [2], [0]])
    results = []
    for device in ('cpu', 'cuda'):
        model = _ready(tiny_wood(
            ood_data=dict(dataset=dict(type='unused')),
            excluded_classes=(1, ))).train().to(device)
        ood = _batch(3, 7)
        monkeypatch.setattr(model, '_next_ood_batch', lambda: ood)
        losses = model.loss(**model.data_preprocessor(batch, True))
        sum(losses.values()).backward()
        results.append(({k: v.detach().cpu()
                         for k, v in losses.items()},
                        model.backbone.layer4[0].conv1.weight.grad.cpu(),
                        model.head.classifier.weight.grad.cpu()))
    (cpu_losses, *cpu_grads), (losses, *grads) = results
    assert set(losses) == {'loss', 'loss_distance', 'loss_ood'}
    for key, value in losses.items():
        torch.testing.assert_close(value, cpu_losses[key], rtol=1e-4,
                                   atol=1e-6)
    for grad, cpu_grad in zip(grads, cpu_grads):
        torch.testing.assert_close(grad, cpu_grad, rtol=1e-3,
                                   atol=1e-4 * cpu_grad.abs().max().item())


def test_ood_loader_cycles(tiny_synthvoc):
    model = _ready(tiny_wood(
        ood_data=dict(
            dataset=dict(
                type='mmwsss.OoDImageDataset',
                data_root=tiny_synthvoc,
                ann_file='ood_list.txt',
                pipeline=[
                    dict(type='mmwsss.LoadImageRGB'),
                    dict(type='mmwsss.RandomCropPad', crop_size=32),
                    dict(type='mmwsss.PackCAMInputs'),
                ]),
            batch_size=2,
            seed=0))).train()
    data = model.data_preprocessor(_batch(2, 0, [[0], [1]]), True)
    # 2 OoD images: every step consumes all of them, the third still works
    for _ in range(3):
        loss = model.loss(**data)['loss_ood']
        assert torch.isfinite(loss) and loss > 0


def test_wood_functional_exclusion_sequence():
    z = torch.tensor([[3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    per_image = F.softplus(z).mean(1)
    torch.testing.assert_close(wood_ood_loss(z, 2, (0, 2)), per_image[1] / 2)
    torch.testing.assert_close(wood_ood_loss(z, 2, 1),
                               (per_image[0] + per_image[2]) / 2)
    torch.testing.assert_close(wood_ood_loss(z, 2, ()), per_image.sum() / 2)


# the classifier configs (the folder also holds W-OoD's COCO IRN/DeepLab
# stages, tested in tests/test_configs/test_wood_configs.py)
@pytest.mark.parametrize(
    'path',
    sorted(
        glob.glob(
            osp.join(
                osp.dirname(__file__), '../../../configs/wood/wood_*.py')) +
        glob.glob(
            osp.join(
                osp.dirname(__file__),
                '../../../configs/wood/cam-ft_*.py'))))
def test_configs_build(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.pop('init_cfg', None)
    model = MODELS.build(cfg.model)
    assert cfg.train_cfg.max_epochs == 5
    assert cfg.default_hooks.checkpoint.get('save_best')
    if 'gt-mask-selection' in path:
        assert cfg.default_hooks.checkpoint.save_best == 'cam_seed/mIoU'
    else:
        assert cfg.default_hooks.checkpoint.save_best == 'multi-label/mAP'
    if isinstance(model, WOoDClassifier):
        assert model.distance_lambda == 0.007 and model.ood_coeff == 0.25
        assert model.topk_ratio == 0.2 and not model.per_image_topk
        hook, = cfg.custom_hooks
        assert hook.type == 'mmwsss.WOoDCentersHook'
        assert model.ood_data['dataset']['type'] == 'mmwsss.OoDImageDataset'
        if 'voc12aug' in path:
            assert model.num_ood_clusters == 50
            assert model.excluded_classes == (4, )
            assert model.ood_data['batch_size'] == 16
        elif 'coco14' in path:
            assert model.num_ood_clusters == 50
            assert model.excluded_classes == ()
            assert model.ood_data['dataset']['data_root'] == (
                'data/coco2014_ood')
        else:
            assert model.ood_data['dataset']['data_root'] == 'data/synthvoc'
            assert model.excluded_classes == ()


def test_distance_terms_switch():
    with pytest.raises(ValueError, match='distance_terms'):
        tiny_wood(distance_terms='pull+push')
    g = torch.Generator().manual_seed(3)
    features = torch.rand(4, 8, generator=g)
    labels = torch.tensor([[1., 0, 0], [0, 1, 1], [0, 0, 1], [1, 0, 0]])
    class_centers = torch.rand(3, 8, generator=g)
    ood_centers = torch.rand(5, 8, generator=g)
    args = (features, labels, class_centers, ood_centers, 0.2)
    both = wood_distance_loss(*args)
    assert torch.equal(both, wood_distance_loss(*args, terms='both'))
    pull = wood_distance_loss(*args, terms='pull')
    push = wood_distance_loss(*args, terms='push')
    torch.testing.assert_close(pull + push, both)
    # pull: only the class distances of the labels, times C / K
    distances = torch.cdist(features, class_centers)
    torch.testing.assert_close(pull, (distances * labels).mean() * 3 / 5)
    assert push < 0
    with pytest.raises(ValueError, match='terms'):
        wood_distance_loss(*args, terms='none')
    # the classifier hands the switch to the loss
    data = None
    for terms in ('pull', 'push'):
        model = _ready(tiny_wood(distance_lambda=0.5,
                                 distance_terms=terms)).train()
        data = data or model.data_preprocessor(
            _batch(4, 0, [[0], [1, 2], [2], [0]]), True)
        losses = model.loss(**data)
        feats = model.extract_feat(data['inputs'])
        targets = torch.stack([s.gt_score
                               for s in data['data_samples']]).float()
        torch.testing.assert_close(
            losses['loss_distance'], 0.5 * wood_distance_loss(
                feats[-1].mean((2, 3)), targets, model.wood_class_centers,
                model.wood_ood_centers, 0.2, terms=terms))
        other = wood_distance_loss(
            feats[-1].mean((2, 3)), targets, model.wood_class_centers,
            model.wood_ood_centers, 0.2)
        assert not torch.allclose(losses['loss_distance'], 0.5 * other)


@pytest.mark.parametrize('suffix, model_changes, hook_changes', [
    ('k12_1xb16-5e_synthvoc-112_pull-only', dict(distance_terms='pull'), {}),
    ('k12_1xb16-5e_synthvoc-112_push-only', dict(distance_terms='push'), {}),
    ('k6_1xb16-5e_synthvoc-112_cluster-pred', dict(num_ood_clusters=6),
     dict(ood_clustering='predicted_class')),
])
def test_ablation_configs_change_their_switches(suffix, model_changes,
                                                hook_changes):
    folder = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs',
                      'wood')
    base = Config.fromfile(
        osp.join(folder, 'wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py'))
    cfg = Config.fromfile(osp.join(folder, f'wood_r18w32-os16_{suffix}.py'))
    assert cfg.model.to_dict() == dict(base.model.to_dict(), **model_changes)
    hook, = cfg.custom_hooks
    assert hook.to_dict() == dict(base.custom_hooks[0].to_dict(),
                                  **hook_changes)
    # each writes into its own run's work dir
    assert cfg.test_evaluator[0].output_dir == '{work_dir}/cams'
