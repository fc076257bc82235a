# Copyright (c) mmwsss contributors. All rights reserved.
"""Every config of configs/moana builds and runs; the SynthVOC ones load and
evaluate the tiny SynthVOC tree; the data configs read real layouts."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from PIL import Image

from mmwsss.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'moana')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
CUB10 = osp.join(osp.dirname(ROOT), 'shared', 'data', 'cub10')


def _config(name: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    init_default_scope(cfg.default_scope)
    return cfg


def _model(cfg: Config) -> torch.nn.Module:
    # No pretrained download: the backbone keeps PyTorch's initialisation.
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _loader_item(loader_cfg: dict, **dataset_kwargs) -> tuple:
    dataset_cfg = loader_cfg.dataset.copy()
    dataset_cfg.update(dataset_kwargs)
    dataset = DATASETS.build(dataset_cfg)
    return dataset, dataset[0]


def test_all_configs_listed():
    names = {osp.basename(p) for p in CONFIGS}
    assert names == {
        'cam_r50-os8_1xb32-45e_cub-224.py',
        'moana_r50-os8_1xb32-45e_cub-224.py',
        'rfga_r50-os8_1xb20-60e_cub-448.py',
        'cam_r50-os8_8xb32-20e_in1k-224.py',
        'moana_r50-os8_8xb32-20e_in1k-224.py',
        'moana_r50-os16_1xb16-5e_voc12aug-512.py',
        'moana_r50-os16_1xb16-5e_voc12aug-512_paper-jitter.py',
        'moana_r18w32-os16_1xb16-20e_synthvoc-112.py',
        'cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
        'moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
        'moana_vgg16-os16_1xb32-50e_cub-224.py',
        'moana_vgg16-os16_1xb32-10e_in1k-224.py',
        'moana_inception-v3-os8_1xb32-50e_cub-224.py',
        'moana_inception-v3-os8_1xb32-10e_in1k-224.py',
        'cam_r50-os8_1xb20-60e_cub-448.py',
        'rfga_r50-os8_1xb20-60e_fgvc-aircraft-448.py',
        'cam_r50-os8_1xb20-60e_fgvc-aircraft-448.py',
        'rfga_r50-os8_1xb20-60e_stanford-dogs-448.py',
        'cam_r50-os8_1xb20-60e_stanford-dogs-448.py',
        'rfga_r50-os8_1xb20-60e_cub-448_wo-residual.py',
        'rfga_r50-os8_1xb20-60e_fgvc-aircraft-448_wo-residual.py',
        'rfga_r50-os8_1xb20-60e_stanford-dogs-448_wo-residual.py',
        'moana_r50-os8_1xb32-45e_cub-224_fixed-tau.py',
    }


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_model_builds_trains_and_predicts(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.default_scope)
    model = _model(cfg)
    is_moana = osp.basename(path).startswith(('moana', 'rfga'))
    assert model.with_neck == is_moana
    num_classes = cfg.model.head.num_classes
    x = torch.randn(2, 3, 64, 64)
    if cfg.model.type == 'mmwsss.WSOLClassifier':
        samples = [DataSample().set_gt_label(label) for label in (0, 3)]
        model.train()
        loss = model.loss(x, samples)['loss']
        assert torch.isfinite(loss)
        model.eval()
        with torch.no_grad():
            out = model.predict(x, samples)
        assert out[0].pred_score.shape == (num_classes, )
        assert out[0].cam_gt.shape == (64, 64)
        assert out[0].cam_gt.max() == 1
    else:
        samples = [DataSample().set_gt_label(labels) for labels in ([0, 2],
                                                                    [1])]
        model.train()
        assert torch.isfinite(model.loss(x, samples)['loss'])
        model.eval()
        sample = DataSample(metainfo=dict(ori_shape=(48, 40)))
        sample.set_gt_label([0, 2])
        with torch.no_grad():
            out = model.predict([[torch.randn(3, 48, 40),
                                  torch.randn(3, 24, 20)]], [sample])[0]
        assert out.cam_high_res.shape == (2, 48, 40)
    if is_moana:
        x_hat, attentions = model.neck.forward_with_attention(
            model.backbone(x)[-1])
        assert set(attentions) == {'channel', 'height', 'width', 'full'}


def test_configs_encode_the_papers():
    cub = _config('moana_r50-os8_1xb32-45e_cub-224.py')
    # MoANA: 256 -> 224 crop, batch 32, 45 epochs, lr 0.01 x0.1 every 10.
    assert [s.get('size', s.get('crop_size'))
            for s in cub.train_dataloader.dataset.pipeline[1:3]] == [
                (256, 256), 224]
    assert cub.train_dataloader.batch_size == 32
    assert cub.train_cfg.max_epochs == 45
    assert cub.optim_wrapper.optimizer.lr == 0.01
    assert cub.param_scheduler.milestones == [10, 20, 30, 40]
    assert cub.model.backbone.strides == (1, 2, 1, 1)
    assert cub.model.neck.calibration == 'residual'
    assert not cub.model.neck.get('sigmoid_after_sum', False)
    # ILSVRC: batch 256 (8 GPUs x 32, the name's 8xb32), 20 epochs,
    # 0.002 / 0.02 for that total batch, x0.1 every 5.
    ilsvrc = _config('moana_r50-os8_8xb32-20e_in1k-224.py')
    assert ilsvrc.train_dataloader.batch_size == 32
    assert ilsvrc.auto_scale_lr.base_batch_size == 8 * 32
    assert ilsvrc.train_cfg.max_epochs == 20
    assert ilsvrc.optim_wrapper.optimizer.lr == 0.002
    assert ilsvrc.optim_wrapper.paramwise_cfg.custom_keys == {
        'neck': dict(lr_mult=10.0),
        'head': dict(lr_mult=10.0)
    }
    assert ilsvrc.param_scheduler.milestones == [5, 10, 15]
    # RFGA: 600 -> 448 crop, batch 20, 60 epochs, x0.1 every 15, sigmoid.
    rfga = _config('rfga_r50-os8_1xb20-60e_cub-448.py')
    assert rfga.train_dataloader.dataset.pipeline[2].crop_size == 448
    assert rfga.test_dataloader.dataset.pipeline[1]['size'] == (448, 448)
    assert rfga.train_dataloader.batch_size == 20
    assert rfga.train_cfg.max_epochs == 60
    assert rfga.param_scheduler.milestones == [15, 30, 45]
    assert rfga.model.neck.sigmoid_after_sum
    # RFGA's metrics (largest contour, IoU 50..90, mIoU) on min-max maps
    assert rfga.test_evaluator.protocol == 'rfga'
    assert 'iou_thresholds' not in rfga.test_evaluator
    assert rfga.model.cam_percentile is None
    # the configs compared with MoANA Table 1 use MoANA's protocol
    for cfg in (cub, ilsvrc, _config('cam_r50-os8_1xb32-45e_cub-224.py'),
                _config('cam_r50-os8_8xb32-20e_in1k-224.py')):
        assert cfg.test_evaluator.protocol == 'moana'
        assert cfg.model.cam_percentile == 65
    # WSSS: the IRN recipe plus the affine (0.35 + 0.65 M) module.
    voc = _config('moana_r50-os16_1xb16-5e_voc12aug-512.py')
    assert voc.model.neck.calibration == 'affine'
    assert voc.model.backbone.strides == (1, 2, 2, 1)
    assert voc.test_evaluator[0].output_dir == '{work_dir}/cams'


@pytest.mark.parametrize('name', [
    'cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    'moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py'
])
def test_synthvoc_wsol_datasets_and_evaluation(name, tiny_synthvoc):
    cfg = _config(name)
    root = osp.join(tiny_synthvoc, 'wsol')
    train_set, item = _loader_item(cfg.train_dataloader, data_root=root)
    assert item['inputs'].shape == (3, 112, 112)
    assert item['data_samples'].gt_label.numel() == 1
    test_set, _ = _loader_item(cfg.test_dataloader, data_root=root)
    batch = default_collate([test_set[i] for i in range(len(test_set))])
    sample = batch['data_samples'][0]
    assert sample.gt_mask.shape == (112, 112)
    assert sample.gt_bboxes.shape[1] == 4

    model = _model(cfg).eval()
    with torch.no_grad():
        outputs = model.test_step(batch)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = test_set.metainfo
    evaluator.process(outputs, batch)
    metrics = evaluator.evaluate(len(test_set))
    for key in ('MaxBoxAccV2', 'Top1Loc', 'GTKnownLoc', 'PxAP'):
        assert 0 <= metrics[f'wsol/{key}'] <= 100


def test_synthvoc_wsss_datasets_and_cams(tiny_synthvoc):
    cfg = _config('moana_r18w32-os16_1xb16-20e_synthvoc-112.py')
    _, item = _loader_item(cfg.train_dataloader, data_root=tiny_synthvoc)
    assert item['inputs'].shape == (3, 112, 112)
    test_set, item = _loader_item(cfg.test_dataloader, data_root=tiny_synthvoc)
    assert len(item['inputs']) == 4  # scales 1.0, 0.5, 1.5, 2.0
    model = _model(cfg).eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([item]))[0]
    classes = out.gt_label.numel()
    assert out.cam_high_res.shape == (classes, *out.ori_shape)
    assert float(out.cam_high_res.max()) <= 1


@pytest.mark.skipif(not osp.isdir(CUB10), reason='shared cub10 not present')
@pytest.mark.parametrize('name', [
    'moana_r50-os8_1xb32-45e_cub-224.py', 'rfga_r50-os8_1xb20-60e_cub-448.py'
])
def test_cub_pipelines_on_real_images(name):
    cfg = _config(name)
    crop = cfg.train_dataloader.dataset.pipeline[2].crop_size
    train_set, item = _loader_item(cfg.train_dataloader, data_root=CUB10)
    assert len(train_set) == 300
    assert item['inputs'].shape == (3, crop, crop)
    test_set, item = _loader_item(cfg.test_dataloader, data_root=CUB10)
    assert len(test_set) == 243
    assert item['inputs'].shape == (3, crop, crop)
    assert item['data_samples'].gt_bboxes.shape == (1, 4)
    assert len(train_set.metainfo['classes']) == 200


def test_imagenet_data_config(tmp_path):
    cfg = _config('moana_r50-os8_8xb32-20e_in1k-224.py')
    wnids = ['n01440764', 'n01443537']
    with open(tmp_path / 'LOC_synset_mapping.txt', 'w') as f:
        f.write('\n'.join(f'{w} class {i}' for i, w in enumerate(wnids)))
    image = Image.fromarray(np.full((60, 80, 3), 128, np.uint8))
    os.makedirs(tmp_path / 'val_bbox')
    for i, wnid in enumerate(wnids):
        os.makedirs(tmp_path / 'train' / wnid)
        image.save(tmp_path / 'train' / wnid / f'{wnid}_1.JPEG')
        os.makedirs(tmp_path / 'val', exist_ok=True)
        stem = f'ILSVRC2012_val_0000000{i + 1}'
        image.save(tmp_path / 'val' / f'{stem}.JPEG')
        with open(tmp_path / 'val_bbox' / f'{stem}.xml', 'w') as f:
            f.write(f'<annotation><size><width>80</width><height>60</height>'
                    f'</size><object><name>{wnid}</name><bndbox><xmin>5'
                    '</xmin><ymin>6</ymin><xmax>50</xmax><ymax>40</ymax>'
                    '</bndbox></object></annotation>')
    # mmpretrain's ImageNet checks the folder count against its classes.
    train_set, item = _loader_item(
        cfg.train_dataloader,
        data_root=str(tmp_path),
        metainfo=dict(classes=('class 0', 'class 1')))
    assert len(train_set) == 2 and item['inputs'].shape == (3, 224, 224)
    test_set, item = _loader_item(cfg.test_dataloader, data_root=str(tmp_path))
    assert [test_set[i]['data_samples'].gt_label.item()
            for i in range(2)] == [0, 1]
    assert item['inputs'].shape == (3, 224, 224)
    assert item['data_samples'].gt_bboxes.tolist() == [[5, 6, 50, 40]]


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
