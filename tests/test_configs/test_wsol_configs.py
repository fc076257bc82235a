# Copyright (c) mmwsss contributors. All rights reserved.
"""The WSOL configs of the VGG16 / InceptionV3 backbones and of the RFGA
datasets: each builds, loads its training data from a fixture in its
dataset's layout through its own pipeline, and runs one training iteration
with its own optimizer settings."""
import importlib.util
import os
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from PIL import Image

from mmwsss.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TESTS = osp.join(ROOT, 'tests', 'test_datasets')


def _helpers(name):
    """A fixture-writing test module of tests/test_datasets (importlib mode
    has no package imports between test folders)."""
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(TESTS, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _openimages(root):
    """wsolevaluation metadata (train split) for two OpenImages images."""
    ids = ['train/0bt_c3/a.jpg', 'train/0by6g/b.jpg']
    for i, image_id in enumerate(ids):
        path = osp.join(root, 'OpenImages', image_id)
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.new('RGB', (50, 40), (60 * i, 90, 30)).save(path)
    meta = osp.join(root, 'metadata', 'OpenImages', 'train')
    os.makedirs(meta)
    with open(osp.join(meta, 'image_ids.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    with open(osp.join(meta, 'class_labels.txt'), 'w') as f:
        f.write(f'{ids[0]},0\n{ids[1]},7\n')
    return root


def _fixture(kind, tmp_path, tiny_synthvoc):
    if kind == 'synthvoc':
        return dict(data_root=osp.join(tiny_synthvoc, 'wsol'))
    if kind == 'cub':
        return dict(
            data_root=_helpers('test_wsol_datasets.py')._fake_cub(
                str(tmp_path / 'cub')))
    if kind == 'in1k':
        # ILSVRC's training set is a folder per class: a CUB-layout tree
        # stands in for it, through the config's pipeline
        return dict(
            type='mmwsss.CUBWSOLDataset',
            split='train',
            data_root=_helpers('test_wsol_datasets.py')._fake_cub(
                str(tmp_path / 'cub')))
    if kind == 'aircraft':
        return dict(
            data_root=_helpers('test_wsol_fgvc.py').fake_aircraft(
                str(tmp_path / 'aircraft' / 'data')))
    if kind == 'dogs':
        return dict(
            data_root=_helpers('test_wsol_fgvc.py').fake_dogs(
                str(tmp_path / 'dogs')))
    return dict(data_root=_openimages(str(tmp_path / 'wsolevaluation')))


# config -> (fixture, training input size, feature-map stride)
CONFIGS = {
    'cam/cam_vgg16-os16_1xb32-50e_cub-224.py': ('cub', 224, 16),
    'cam/cam_inception-v3-os8_1xb32-50e_cub-224.py': ('cub', 224, 8),
    'cam/cam_vgg16-os16_1xb32-10e_in1k-224.py': ('in1k', 224, 16),
    'cam/cam_inception-v3-os8_1xb32-10e_in1k-224.py': ('in1k', 224, 8),
    'cam/cam_vgg16-os16_1xb32-10e_openimages-224.py': ('openimages', 224, 16),
    'cam/cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py':
    ('synthvoc', 112, 16),
    'cam/cam_inception-v3-os8_1xb16-40e_synthvoc-wsol-112.py':
    ('synthvoc', 112, 8),
    'moana/moana_vgg16-os16_1xb32-50e_cub-224.py': ('cub', 224, 16),
    'moana/moana_inception-v3-os8_1xb32-50e_cub-224.py': ('cub', 224, 8),
    'moana/moana_vgg16-os16_1xb32-10e_in1k-224.py': ('in1k', 224, 16),
    'moana/moana_inception-v3-os8_1xb32-10e_in1k-224.py': ('in1k', 224, 8),
    'moana/cam_r50-os8_1xb20-60e_cub-448.py': ('cub', 448, 8),
    'moana/rfga_r50-os8_1xb20-60e_fgvc-aircraft-448.py': ('aircraft', 448, 8),
    'moana/cam_r50-os8_1xb20-60e_fgvc-aircraft-448.py': ('aircraft', 448, 8),
    'moana/rfga_r50-os8_1xb20-60e_stanford-dogs-448.py': ('dogs', 448, 8),
    'moana/cam_r50-os8_1xb20-60e_stanford-dogs-448.py': ('dogs', 448, 8),
}


@pytest.mark.parametrize('name', [
    pytest.param(
        name,
        marks=[] if CONFIGS[name][0] == 'synthvoc' else [pytest.mark.slow])
    for name in sorted(CONFIGS)
])
def test_config_trains_one_iteration(name, tmp_path, tiny_synthvoc):
    kind, size, stride = CONFIGS[name]
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    init_default_scope(cfg.default_scope)
    # the real ImageNet initialisation stays in the config; no download here
    init = cfg.model.backbone.get('init_cfg')
    if kind != 'synthvoc':
        init = init if isinstance(init, list) else [init]
        assert init[-1]['type'] == 'Pretrained', init
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()

    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.update(_fixture(kind, tmp_path, tiny_synthvoc))
    dataset = DATASETS.build(dataset_cfg)
    batch = default_collate([dataset[0], dataset[1]])
    assert batch['inputs'][0].shape == (3, size, size)
    # CPU budget: the iteration itself runs at 64 x 64
    batch['inputs'] = F.interpolate(
        batch['inputs'].float(), size=64).to(torch.uint8)

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    before = model.head.classifier.weight.detach().clone()
    losses = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, model.head.classifier.weight)
    # the new layers train at 10x (wsolevaluation / MoANA recipes)
    if name.startswith(('cam/cam_vgg16-', 'cam/cam_inception-v3-os8_1xb32',
                        'moana/moana_')):
        base_lr = cfg.optim_wrapper.optimizer.lr
        lr_mults = {
            round(group['lr'] / base_lr, 6): name.split('.')[0]
            for group in optim_wrapper.optimizer.param_groups
            for name in [group.get('name', '')]
        }
        assert set(lr_mults) == {1., 10.}
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 224, 224))
    assert feats[-1].shape[-1] == 224 // stride


def test_wsolevaluation_recipes():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'cam',
                 'cam_vgg16-os16_1xb32-50e_cub-224.py'))
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.optim_wrapper.optimizer.nesterov
    assert cfg.param_scheduler.step_size == 15
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.test_evaluator.get('protocol', 'standard') == 'standard'
    in1k = Config.fromfile(
        osp.join(ROOT, 'configs', 'cam',
                 'cam_inception-v3-os8_1xb32-10e_in1k-224.py'))
    assert in1k.train_dataloader.batch_size == 32
    assert (in1k.train_cfg.max_epochs, in1k.param_scheduler.step_size) == (10,
                                                                          3)
    assert in1k.model.backbone.large_feature_map
    dogs = Config.fromfile(
        osp.join(ROOT, 'configs', 'moana',
                 'cam_r50-os8_1xb20-60e_stanford-dogs-448.py'))
    assert dogs.model.neck is None and dogs.test_evaluator.protocol == 'rfga'
    assert dogs.test_dataloader.dataset.split == 'test'
    assert dogs.model.head.num_classes == 120
