# Copyright (c) mmwsss contributors. All rights reserved.
"""Every config of configs/wsol_baselines builds and runs one training
iteration through its data pipeline and data preprocessor (batch augments
included): the SynthVOC-WSOL ones on the tiny SynthVOC tree, the CUB ones
on a tiny CUB layout, the ILSVRC ones on a random batch; and the configs
carry the protocol's values."""
import glob
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from PIL import Image

from mmwsss.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'wsol_baselines')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
METHODS = ('has', 'cutmix', 'adl', 'acol', 'spg')


def _config(name: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    init_default_scope(cfg.default_scope)
    return cfg


def _model(cfg: Config) -> torch.nn.Module:
    # No pretrained download: the (wrapped) backbone keeps its own init.
    backbone = cfg.model.backbone
    (backbone.backbone if 'backbone' in backbone else backbone).init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def tiny_cub(tmp_path_factory) -> str:
    """Four 40 x 30 images of CUB classes 1 and 3 (two train, two test)."""
    root = str(tmp_path_factory.mktemp('cub'))
    paths = [
        '001.A/a_1.jpg', '001.A/a_2.jpg', '003.C/c_1.jpg', '003.C/c_2.jpg'
    ]
    for i, path in enumerate(paths):
        os.makedirs(osp.dirname(osp.join(root, 'images', path)), exist_ok=True)
        Image.new('RGB', (40, 30), (40 * i, 90, 160)).save(
            osp.join(root, 'images', path))
    files = {
        'images.txt': [f'{i + 1} {p}' for i, p in enumerate(paths)],
        'image_class_labels.txt': ['1 1', '2 1', '3 3', '4 3'],
        'train_test_split.txt': ['1 1', '2 0', '3 1', '4 0'],
        'bounding_boxes.txt':
        [f'{i + 1} 2.0 3.0 20.0 15.0' for i in range(4)],
        'classes.txt': ['1 001.A', '2 002.B', '3 003.C'],
    }
    for name, lines in files.items():
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return root


def _shrink_crop(cfg: Config, size: int = 64):
    """Train at ``size`` instead of 224, to keep ResNet-50 fast on a CPU."""
    resize, crop = cfg.train_dataloader.dataset.pipeline[1:3]
    assert (resize.type, crop.type) == ('mmwsss.WSOLResize', 'RandomCrop')
    resize.size = (size + 8, size + 8)
    crop.crop_size = size


def _batch(cfg: Config, name: str, tiny_synthvoc: str, tiny_cub: str):
    if 'synthvoc' in name:
        root = osp.join(tiny_synthvoc, 'wsol')
    elif '_cub' in name:
        root = tiny_cub
        _shrink_crop(cfg)
    else:
        # ILSVRC: a random batch through the model's data preprocessor.
        inputs = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
                  for _ in range(2)]
        samples = [DataSample().set_gt_label(y) for y in (3, 907)]
        return dict(inputs=inputs, data_samples=samples), 64
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    batch = default_collate([dataset[i] for i in range(2)])
    return batch, batch['inputs'].shape[-1]


def test_all_configs_listed():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {
        f'{method}_{rest}'
        for method in METHODS for rest in (
            'r50-os8_1xb32-50e_cub-224.py', 'r50-os8_1xb32-10e_in1k-224.py',
            'r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
    }


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_trains_one_iteration(path, tiny_synthvoc, tiny_cub):
    name = osp.basename(path)
    cfg = _config(name)
    model = _model(cfg)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch, size = _batch(cfg, name, tiny_synthvoc, tiny_cub)
    before = [p.detach().clone() for p in model.head.parameters()]
    model.train()
    losses = model.train_step(batch, optim_wrapper)
    assert all(torch.isfinite(v) for v in losses.values())
    if name.startswith('acol'):
        assert 'loss_erased' in losses
    if name.startswith('spg'):
        assert {'loss_b2_att', 'loss_b1_b2i', 'loss_c1_fus'} <= set(losses)
    assert any(not torch.equal(b, p)
               for b, p in zip(before, model.head.parameters()))
    model.eval()
    samples = [DataSample().set_gt_label(1), DataSample().set_gt_label(0)]
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, size, size), samples)
    assert out[0].cam_gt.shape == (size, size)
    assert float(out[0].cam_gt.max()) == 1


def test_configs_carry_the_protocol():
    for method in METHODS:
        cub = _config(f'{method}_r50-os8_1xb32-50e_cub-224.py')
        assert cub.train_dataloader.batch_size == 32
        assert cub.train_cfg.max_epochs == 50
        assert cub.param_scheduler.step_size == 15
        assert cub.optim_wrapper.optimizer.nesterov
        assert cub.optim_wrapper.optimizer.weight_decay == 1e-4
        assert cub.model.head.num_classes == 200
        in1k = _config(f'{method}_r50-os8_1xb32-10e_in1k-224.py')
        assert in1k.train_dataloader.batch_size == 32
        assert in1k.train_cfg.max_epochs == 10
        assert in1k.param_scheduler.step_size == 3
        assert in1k.model.head.num_classes == 1000
        assert (in1k.optim_wrapper.optimizer.lr ==
                cub.optim_wrapper.optimizer.lr)
        # ResNet-50: layer4 and fc at 10x; ACoL's and SPG's new layers not
        head_mult = 1.0 if method in ('acol', 'spg') else 10.0
        for cfg in (cub, in1k):
            assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
                'backbone.layer4': dict(lr_mult=10.0),
                'head': dict(lr_mult=head_mult)
            }
    augments = {
        m: _config(f'{m}_r50-os8_1xb32-50e_cub-224.py')
        .model.data_preprocessor.batch_augments.augments
        for m in ('has', 'cutmix')
    }
    assert (augments['has'].grid_size, augments['has'].drop_rate) == (120,
                                                                       0.66)
    assert (augments['cutmix'].alpha, augments['cutmix'].prob) == (1.35,
                                                                   0.24)
    adl = _config('adl_r50-os8_1xb32-50e_cub-224.py').model.backbone
    assert adl.adl_after == ('layer3.0', 'layer4.0', 'layer4.2')
    assert (adl.drop_rate, adl.drop_threshold) == (0.24, 0.76)
    assert _config('acol_r50-os8_1xb32-50e_cub-224.py'
                   ).model.head.drop_threshold == 0.57
    spg = _config('spg_r50-os8_1xb32-50e_cub-224.py').model
    assert spg.backbone.tap_after == ('layer3.0', )
    assert spg.backbone.backbone.out_indices == (2, 3)
    assert spg.head.thresholds == ((0.41, 0.35), (0.24, 0.21), (0.12, 0.08))


def test_adl_positions_and_eval_identity():
    cfg = _config('adl_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
    model = _model(cfg)
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        plain = model.backbone.backbone(x)[-1]
        assert torch.equal(model.backbone(x)[-1], plain)
    # in training every ADL layer multiplies its block's output
    seen = []
    for layer in model.backbone.adl_layers:
        layer.register_forward_hook(lambda m, i, o: seen.append(o.shape[1]))
    model.train()
    model.backbone(x)
    assert seen == [128, 256, 256]


def test_metafile_lists_every_config():
    import yaml
    with open(osp.join(CONFIG_DIR, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    listed = {model['Config'] for model in meta['Models']}
    assert listed == {osp.relpath(p, ROOT) for p in CONFIGS}
    collections = {c['Name'] for c in meta['Collections']}
    for model in meta['Models']:
        assert model['In Collection'] in collections
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]
