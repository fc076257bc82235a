# Copyright (c) mmwsss contributors. All rights reserved.
import copy
import random

import numpy as np
import pytest
import torch
from mmengine import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

import mmwsss.models.rib.classifier as rib_module
from mmwsss.datasets.transforms import MultiScaleResize, PackCAMInputs
from mmwsss.functional import (disjoint_image_indices, gndrp_pool,
                               merge_multiscale_cams, rib_loss)
from mmwsss.models.rib import DisjointImageBatches
from mmwsss.models.utils import per_image_scales
from mmwsss.registry import MODELS
from mmwsss.testing import REPO_ROOT

init_default_scope('mmpretrain')

NUM_CLASSES = 6
# Image-level labels of the auxiliary candidates: class 5 appears alone in
# two images, so targets with five classes still have disjoint images.
AUX_LABELS = [[0], [1, 2], [3], [4, 0], [5], [1], [2, 3], [5], [0, 1], [4]]


class ToyDataset(Dataset):
    """Auxiliary images with a random crop and flip drawn from the global
    generators, as the training pipelines do."""

    def __init__(self, labels=AUX_LABELS, size=24, seed=0):
        rng = np.random.default_rng(seed)
        self.labels = labels
        self.size = size
        self.images = [
            torch.from_numpy(
                rng.integers(0, 256, (3, size + 8, size + 8), dtype=np.uint8))
            for _ in labels
        ]

    def __len__(self):
        return len(self.labels)

    def get_cat_ids(self, index):
        return list(self.labels[index])

    def __getitem__(self, index):
        y, x = np.random.randint(0, 9, size=2)
        img = self.images[index][:, y:y + self.size, x:x + self.size]
        if random.random() < 0.5:
            img = img.flip(-1)
        sample = DataSample().set_gt_label(list(self.labels[index]))
        return dict(inputs=img.contiguous(), data_samples=sample)


def _model(dataset=None, **kwargs):
    cfg = dict(
        type='mmwsss.RIBClassifier',
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
        head=dict(
            type='mmwsss.CAMHead', num_classes=NUM_CLASSES, in_channels=64),
        rib_data=dict(dataset=dataset or ToyDataset(), batch_size=3),
        num_iters=3,
        # large enough for a visible change of the tiny random network
        lr=0.05,
        stop_th=None,
        explode_ratio=None)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _item(keys, shape=(29, 34), seed=1, name='target'):
    """A packed multi-scale test item, as the CAM test pipeline makes it."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    results = dict(
        img=img,
        gt_label=np.asarray(keys),
        ori_shape=shape,
        img_shape=shape,
        img_id=name,
        img_path=f'x/{name}.jpg')
    results = MultiScaleResize(scales=(1.0, 0.5, 1.5, 2.0)).transform(results)
    return PackCAMInputs().transform(results)


@torch.no_grad()
def _predict(model, item):
    """tools/test.py's path: pseudo_collate, then test_step (no_grad)."""
    return model.test_step(pseudo_collate([copy.deepcopy(item)]))[0]


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_disjoint_index_lists():
    rng = np.random.default_rng(0)
    matrix = rng.random((40, 7)) < 0.3
    for keys in ([0], [2, 5], [0, 1, 2, 3, 4, 5, 6]):
        expected = [
            i for i in range(40) if not any(matrix[i, k] for k in keys)
        ]
        assert disjoint_image_indices(matrix, keys).tolist() == expected

    bank = DisjointImageBatches(ToyDataset(), NUM_CLASSES, batch_size=3)
    assert bank.label_matrix.sum(1).tolist() == [len(x) for x in AUX_LABELS]
    assert bank.disjoint_indices([0, 1]).tolist() == [2, 4, 6, 7, 9]
    plan = bank.plan([0, 1], 4, 'img_a')
    assert [len(b) for b in plan] == [3, 3, 3, 3]
    assert {i for b in plan for i, _ in b} <= {2, 4, 6, 7, 9}
    # a fresh permutation per pass: every disjoint image in the first five
    assert sorted([i for b in plan for i, _ in b][:5]) == [2, 4, 6, 7, 9]
    assert plan == bank.plan([1, 0], 4, 'img_a')
    assert plan != bank.plan([0, 1], 4, 'img_b')
    # fewer disjoint images than B: every batch holds all of them
    small = bank.plan([0, 1, 2, 3, 4], 2, 'img_a')
    assert [sorted(i for i, _ in b) for b in small] == [[4, 7], [4, 7]]
    assert bank.plan(list(range(NUM_CLASSES)), 3, 'img_a') == []
    with pytest.raises(ValueError, match='outside'):
        _ = DisjointImageBatches(ToyDataset(), 3).label_matrix


def test_disjoint_cache_is_bounded_and_keeps_results(monkeypatch):
    # COCO has tens of thousands of class sets: the cache must not grow
    # with them, and what it returns must not depend on it
    computed = []
    compute = rib_module.disjoint_image_indices

    def counting(matrix, keys):
        computed.append(tuple(keys))
        return compute(matrix, keys)

    monkeypatch.setattr(rib_module, 'disjoint_image_indices', counting)
    class_sets = [[k] for k in range(NUM_CLASSES)] + [[0, 1], [2, 5], [3]]
    unbounded = DisjointImageBatches(
        ToyDataset(), NUM_CLASSES, cache_size=100)
    expected = [unbounded.disjoint_indices(k).tolist() for k in class_sets]
    for size in (0, 1, 5):
        bank = DisjointImageBatches(ToyDataset(), NUM_CLASSES, cache_size=size)
        computed.clear()
        for keys, indices in zip(class_sets, expected):
            assert bank.disjoint_indices(keys).tolist() == indices
            assert len(bank._disjoint) <= size
        assert bank.plan([0, 1], 4, 'img_a') == unbounded.plan(
            [0, 1], 4, 'img_a')
        # four other class sets came between the two queries of [3]
        assert computed.count((3, )) == (1 if size == 5 else 2)
    # least recently used goes first: a hit refreshes its class set
    bank = DisjointImageBatches(ToyDataset(), NUM_CLASSES, cache_size=2)
    for keys in ([0], [1], [0], [2]):
        bank.disjoint_indices(keys)
    assert list(bank._disjoint) == [(0, ), (2, )]
    with pytest.raises(ValueError, match='cache_size'):
        DisjointImageBatches(ToyDataset(), NUM_CLASSES, cache_size=-1)


def test_seeded_batches_do_not_depend_on_workers_or_order():
    bank = DisjointImageBatches(ToyDataset(), NUM_CLASSES, batch_size=3)
    first = list(bank.batches([0], 2, 'img_a'))
    np.random.seed(123)  # the global state must not matter
    list(bank.batches([3], 2, 'img_b'))
    again = list(bank.batches([0], 2, 'img_a'))
    workers = DisjointImageBatches(
        ToyDataset(), NUM_CLASSES, batch_size=3, num_workers=1)
    # twice through the persistent worker, the first time left unfinished
    next(workers.batches([0], 2, 'img_a'))
    parallel = list(workers.batches([0], 2, 'img_a'))
    for other in (again, parallel):
        assert len(other) == len(first) == 2
        for a, b in zip(first, other):
            assert all(torch.equal(x, y)
                       for x, y in zip(a['inputs'], b['inputs']))
            assert [s.gt_label.tolist() for s in a['data_samples']] == [
                s.gt_label.tolist() for s in b['data_samples']
            ]
    # the augmentation is random across items
    crops = {tuple(x.flatten()[:8].tolist()) for x in first[0]['inputs']}
    assert len(crops) == 3


def test_inputs_transposed_by_pseudo_collate_are_recovered():
    items = [_item([0], (20, 26), name='a'), _item([1], (22, 18), name='b')]
    batch = pseudo_collate(copy.deepcopy(items))
    assert len(batch['inputs']) == 4  # [scale][image]
    per_image = per_image_scales(batch['inputs'], batch['data_samples'])
    for got, item in zip(per_image, items):
        assert all(torch.equal(a, b) for a, b in zip(got, item['inputs']))
    assert per_image_scales(per_image, batch['data_samples']) == per_image


def test_one_iteration_equals_plain_cams():
    """K = 1 adds only the initial model's CAM: the plain multi-scale CAM."""
    model = _model(num_iters=1)
    item = _item([1, 4])
    rib = _predict(model, item)
    assert rib.rib_steps == 1 and rib.rib_stop == 'iters'
    plain_model = MODELS.build(
        dict(
            copy.deepcopy(model_cfg_of(model)), type='mmwsss.CAMClassifier'))
    plain_model.load_state_dict(model.state_dict())
    data = plain_model.data_preprocessor(
        dict(inputs=[item['inputs']],
             data_samples=[copy.deepcopy(item['data_samples'])]))
    with torch.no_grad():
        plain = plain_model.eval().predict(data['inputs'],
                                           data['data_samples'])[0]
    torch.testing.assert_close(rib.cam_high_res, plain.cam_high_res)
    torch.testing.assert_close(rib.cam_strided, plain.cam_strided)
    torch.testing.assert_close(rib.pred_score, plain.pred_score)


def model_cfg_of(model):
    """The CAMClassifier part of the test model's config."""
    return dict(
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
        head=dict(
            type='mmwsss.CAMHead', num_classes=NUM_CLASSES, in_channels=64))


def _reference_loop(model, item, stop_th=None, explode_ratio=None):
    """The official loop written plainly: weights reloaded, all loss rows in
    one backward, scales in the order (1.0, 0.5, 1.5, 2.0)."""
    net = copy.deepcopy(model)
    keys = torch.as_tensor(item['data_samples'].gt_label).long()
    data = net.data_preprocessor(
        dict(inputs=[item['inputs']],
             data_samples=[copy.deepcopy(item['data_samples'])]))
    pairs = [torch.stack([x, x.flip(-1)]) for x in data['inputs'][0]]
    target = torch.zeros(NUM_CLASSES)
    target[keys] = 1
    backbone = [p for p in net.backbone.parameters() if p.requires_grad]
    head = list(net.head.parameters())
    optim = torch.optim.SGD([
        dict(params=backbone, lr=model.lr),
        dict(params=head, lr=model.lr * 10)
    ],
                            lr=model.lr,
                            momentum=1e-4,
                            weight_decay=1e-4)
    batches = model.rib_batches.batches(keys.tolist(), model.num_iters,
                                        item['data_samples'].img_id)
    acc = [0] * 4
    steps, reason = 0, 'iters'
    for k in range(model.num_iters):
        for group, base in zip(optim.param_groups,
                               (model.lr, model.lr * 10)):
            group['lr'] = base * (1 - k / model.num_iters)**0.9
        raws = []
        for s in range(4):
            raw = net.raw_cams(pairs[s])
            acc[s] = acc[s] + raw.detach().relu()
            if s == 0 and k > 0 and explode_ratio is not None:
                cam = raw.detach().relu()
                cam = (cam[0] + cam[1].flip(-1))[keys]
                cam = cam / (cam.flatten(1).max(1)[0][:, None, None] + 1e-5)
                if (cam > 0.3).any(0).float().mean() > explode_ratio:
                    reason = 'explosion'
                    break
            raws.append(raw)
        if reason == 'explosion':
            break
        batch = net.data_preprocessor(next(batches))
        aux_labels = torch.stack(
            [s.gt_score for s in batch['data_samples']]).float()
        rows = torch.cat(
            [gndrp_pool(raws[s], target, 0.4) for s in (0, 2, 3)] +
            [gndrp_pool(net.raw_cams(batch['inputs']), aux_labels, 0.4)])
        labels = torch.cat([target.expand(6, -1), aux_labels])
        optim.zero_grad()
        rib_loss(rows, labels).backward()
        optim.step()
        steps = k + 1
        if stop_th is not None and (rows[:6] * labels[:6]).sum().abs(
        ) > stop_th:
            reason = 'logits'
            break
    strided, high_res = merge_multiscale_cams(acc, item['data_samples'].
                                              ori_shape, keys)
    return strided, high_res, steps, reason


@pytest.mark.parametrize('options,expected', [
    (dict(), ('iters', 3)),
    (dict(explode_ratio=0.0), ('explosion', 1)),
    (dict(stop_th=1e-3), ('logits', 1)),
    (dict(aux_chunk_size=2), ('iters', 3)),
])
def test_matches_the_reference_loop(options, expected):
    model = _model(**options)
    item = _item([0, 2])
    out = _predict(model, item)
    stops = {k: v for k, v in options.items() if k != 'aux_chunk_size'}
    strided, high_res, steps, reason = _reference_loop(model, item, **stops)
    assert (out.rib_stop, out.rib_steps) == expected == (reason, steps)
    torch.testing.assert_close(out.cam_high_res, high_res, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.cam_strided, strided, atol=1e-5, rtol=0)
    if not options:
        plain = _predict(_model(num_iters=1), item)
        assert (out.cam_high_res - plain.cam_high_res).abs().max() > 1e-3


def test_weights_restored_and_nothing_leaks_between_images(monkeypatch):
    model = _model()
    before = _state(model)
    a, b = _item([0, 2], seed=1, name='a'), _item([3], seed=2, name='b')
    first = _predict(model, a)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    _predict(model, b)
    again = _predict(model, a)
    assert torch.equal(first.cam_high_res, again.cam_high_res)
    assert torch.equal(first.cam_strided, again.cam_strided)
    # the weights come back even when the loop fails after an update
    calls = []

    def failing_stop(*args):
        calls.append(1)
        raise RuntimeError('boom')

    monkeypatch.setattr(rib_module, 'rib_target_stop', failing_stop)
    model.stop_th = 1.0
    with pytest.raises(RuntimeError, match='boom'):
        _predict(model, b)
    assert calls
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in model.parameters())


def test_one_five_and_all_zero_classes():
    model = _model()
    one = _predict(model, _item([2]))
    assert one.cam_keys.tolist() == [2]
    assert one.cam_high_res.shape == (1, 29, 34)
    assert one.cam_strided.shape == (1, 8, 9)
    five_keys = [0, 1, 2, 3, 4]
    assert model.rib_batches.disjoint_indices(five_keys).tolist() == [4, 7]
    five = _predict(model, _item(five_keys))
    assert five.cam_high_res.shape == (5, 29, 34)
    assert torch.isfinite(five.cam_high_res).all()
    assert five.rib_steps == 3
    # class 3's classifier row is negative on the non-negative features:
    # its raw map is negative everywhere, GNDRP pools it to 0 and its CAM
    # stays all zero through the fine-tuning (class 1's row is positive).
    with torch.no_grad():
        weight = model.head.classifier.weight
        weight[3] = -weight[3].abs() - 1e-3
        weight[1] = weight[1].abs() + 1e-3
    zero = _predict(model, _item([1, 3]))
    assert zero.rib_steps == 3
    assert torch.isfinite(zero.cam_high_res).all()
    assert zero.cam_high_res[1].abs().max() == 0
    assert zero.cam_strided[1].abs().max() == 0
    assert zero.cam_high_res[0].max() == pytest.approx(1, abs=1e-4)


def test_no_disjoint_images_fine_tunes_on_the_target_alone():
    model = _model(rib_data=None)
    out = _predict(model, _item(list(range(NUM_CLASSES))))
    assert out.rib_steps == 3 and out.cam_keys.numel() == NUM_CLASSES
    model = _model()
    out = _predict(model, _item(list(range(NUM_CLASSES))))
    assert out.rib_steps == 3


def test_configs_build_with_the_reference_settings():
    for name in ('rib-gndrp_r50-os16_k10-b20_voc12aug-512.py',
                 'rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py'):
        cfg = Config.fromfile(f'{REPO_ROOT}/configs/rib/{name}')
        assert cfg.model.rib_data.dataset == cfg.train_dataloader.dataset
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.backbone.update(init_cfg=None, depth=18, base_channels=8)
        model_cfg.head.in_channels = 64
        model = MODELS.build(model_cfg)
        assert (model.num_iters, model.head_lr_mult, model.tau,
                model.stop_th, model.explode_th,
                model.explode_ratio) == (10, 10.0, 0.4, 600.0, 0.3, 0.7)
        # SynthVOC's small classifier needs a larger rate (see its config)
        assert model.lr == (8e-6 if 'voc12aug' in name else 1e-3)
        assert model.loss_scales == (1.0, 1.5, 2.0)
        assert model.rib_batches.batch_size == 20
        assert not model.backbone.layer2[0].conv1.weight.requires_grad
        assert model.backbone.layer3[0].conv1.weight.requires_grad


def test_coco_config_has_the_official_coco_settings():
    # obtain_RIB_CAM_coco.py: lr 5e-6, B 15, tau 0.5, stop 1000, 0.3 / 0.8
    cfg = Config.fromfile(
        f'{REPO_ROOT}/configs/rib/rib-gndrp_r50-os16_k10-b15_coco14-512.py')
    assert cfg.model.rib_data.dataset == cfg.train_dataloader.dataset
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.update(init_cfg=None, depth=18, base_channels=8)
    model_cfg.head.in_channels = 64
    model = MODELS.build(model_cfg)
    assert model.head.num_classes == 80
    assert (model.num_iters, model.lr, model.head_lr_mult, model.tau,
            model.stop_th, model.explode_th,
            model.explode_ratio) == (10, 5e-6, 10.0, 0.5, 1000.0, 0.3, 0.8)
    assert model.loss_scales == (1.0, 1.5, 2.0)
    assert (model.rib_batches.batch_size,
            model.rib_batches.cache_size) == (15, 256)


def test_ablation_switches_are_validated():
    with pytest.raises(ValueError, match='pooling'):
        _model(pooling='max')
    with pytest.raises(ValueError, match='loss_activation'):
        _model(loss_activation='relu')


def test_gap_pooling_replaces_gndrp(monkeypatch):
    item = _item([1, 4])
    default = _predict(_model(), item)

    def no_gndrp(*args, **kwargs):
        raise AssertionError('GNDRP used with pooling="gap"')

    monkeypatch.setattr(rib_module, 'gndrp_pool', no_gndrp)
    gap = _predict(_model(pooling='gap'), item)
    assert gap.rib_steps == default.rib_steps == 3
    assert not torch.allclose(gap.cam_high_res, default.cam_high_res)


def test_loss_activation_reaches_every_loss(monkeypatch):
    item = _item([1, 4])
    default = _predict(_model(), item)
    calls = []

    def spy(logits, labels, *, activation=None):
        calls.append(activation)
        return rib_loss(logits, labels, activation=activation)

    monkeypatch.setattr(rib_module, 'rib_loss', spy)
    ablated = _predict(_model(loss_activation='softsign'), item)
    # target scales and auxiliary batch of each of the 3 steps
    assert len(calls) > 3 and set(calls) == {'softsign'}
    assert not torch.allclose(ablated.cam_high_res, default.cam_high_res)


@pytest.mark.parametrize('name, changes', [
    ('rib-gap_r18w32-os16_k10-b20_synthvoc-112.py', dict(pooling='gap')),
    ('rib-gndrp_r18w32-os16_k10-b20_synthvoc-112_bce-softsign.py',
     dict(loss_activation='softsign')),
])
def test_ablation_configs_change_one_switch(name, changes):
    folder = f'{REPO_ROOT}/configs/rib'
    base = Config.fromfile(
        f'{folder}/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py')
    cfg = Config.fromfile(f'{folder}/{name}')
    assert cfg.model.to_dict() == dict(base.model.to_dict(), **changes)
    # each writes into its own run's work dir
    assert cfg.test_evaluator[0].output_dir == '{work_dir}/cams'
    # defaults: the method
    model = _model()
    assert (model.pooling, model.loss_activation) == ('gndrp', None)
