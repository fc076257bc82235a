# Copyright (c) mmwsss contributors. All rights reserved.
"""configs/dsrg build; the SynthVOC configs load seeds from CAM files (and
saliency maps) of a tiny SynthVOC tree and train one DSRG iteration."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from PIL import Image
from scipy.ndimage import binary_erosion

from mmwsss.fileio import strided_map_size, write_cam_file, write_saliency_map
from mmwsss.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'dsrg')
SYNTHVOC = 'dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112.py'
SYNTHVOC_SAL = 'dsrg_r18w32-d8_1xb10-300it_synthvoc-112x112-sal.py'
VOC = 'dsrg_r101-d8_1xb20-8k_voc12aug-321x321.py'
# The ablation: cross-entropy on the same fixed seeds.
SEEDS_CE = 'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-cam-seeds.py'


def _config(name: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    init_default_scope(cfg.default_scope)
    return cfg


def _model(cfg: Config, num_classes: int = None) -> torch.nn.Module:
    cfg.model.backbone.init_cfg = None
    if num_classes is not None:
        cfg.model.decode_head.num_classes = num_classes
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def test_all_configs_listed():
    assert {osp.basename(p)
            for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))
            } == {SYNTHVOC, SYNTHVOC_SAL, VOC, SEEDS_CE}


@pytest.mark.parametrize('name', [SYNTHVOC, SYNTHVOC_SAL, VOC])
def test_config_builds(name):
    cfg = _config(name)
    assert cfg.default_scope == 'mmseg'
    assert cfg.custom_imports.imports == ['mmwsss']
    model = _model(cfg)
    assert type(model).__name__ == 'DSRGEncoderDecoder'
    assert type(model.decode_head).__name__ == 'DSRGHead'
    assert model.decode_head.dilations == (6, 12, 18, 24)
    types = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'mmwsss.DSRGSeedsFromCAM' in types
    assert ('mmwsss.LoadSaliencyMap' in types) == (name != SYNTHVOC)


def test_ablation_differs_only_in_the_training_loss():
    dsrg, ablation = _config(SYNTHVOC), _config(SEEDS_CE)
    assert ablation.train_dataloader == dsrg.train_dataloader
    assert ablation.optim_wrapper == dsrg.optim_wrapper
    assert dsrg.optim_wrapper.optimizer.lr == 0.005
    assert ablation.train_cfg == dsrg.train_cfg
    model = _model(ablation)
    assert type(model).__name__ == 'EncoderDecoder'
    assert type(model.decode_head).__name__ == 'ASPPv2Head'
    head = dsrg.model.decode_head
    for key in ('th1', 'th2', 'crf_scale_factor'):
        head.pop(key)
    head.type = 'mmwsss.ASPPv2Head'
    assert ablation.model.decode_head == head


def test_voc_recipe():
    cfg = _config(VOC)
    assert cfg.train_dataloader.batch_size == 20
    assert cfg.train_cfg.max_iters == 8000
    assert cfg.optim_wrapper.optimizer.lr == 5e-4
    step = cfg.param_scheduler[0]
    assert (step.type, step.step_size, step.gamma) == ('StepLR', 1000, 0.33)
    head = cfg.model.decode_head
    assert (head.th1, head.th2, head.crf_scale_factor) == (0.99, 0.85, 12.0)
    pipeline = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert pipeline['Resize']['scale'] == (321, 321)
    assert pipeline['mmwsss.DSRGSeedsFromCAM']['saliency_bg_threshold'] == (
        0.06)


@pytest.fixture(scope='module')
def cam_and_saliency_dirs(tiny_synthvoc, tmp_path_factory):
    """CAM files made from the ground truth (eroded masks = 1, their
    surroundings 0.1) and saliency maps, for the train split."""
    cam_dir = tmp_path_factory.mktemp('cams')
    sal_dir = tmp_path_factory.mktemp('saliency')
    with open(osp.join(tiny_synthvoc, 'ImageSets/Segmentation/train.txt')) as f:
        ids = f.read().split()
    for img_id in ids:
        with Image.open(
                osp.join(tiny_synthvoc, 'SegmentationClass',
                         img_id + '.png')) as img:
            gt = np.asarray(img)
        keys = np.array([v - 1 for v in np.unique(gt) if 0 < v < 255])
        cams = np.stack([
            np.where(
                binary_erosion(gt == k + 1, iterations=2), 1.0,
                np.where(gt == k + 1, 0.1, 0.0)) for k in keys
        ]).astype(np.float32)
        h, w = strided_map_size(gt.shape)
        write_cam_file(
            str(cam_dir / f'{img_id}.npz'), keys, cams[:, ::4, ::4][:, :h, :w],
            cams)
        write_saliency_map(
            str(sal_dir / f'{img_id}.png'),
            ((gt > 0) * 255).astype(np.uint8))
    return str(cam_dir), str(sal_dir)


@pytest.mark.parametrize('name', [SYNTHVOC, SYNTHVOC_SAL])
def test_synthvoc_one_training_iteration(name, tiny_synthvoc,
                                         cam_and_saliency_dirs):
    cam_dir, sal_dir = cam_and_saliency_dirs
    cfg = _config(name)
    pipeline = cfg.train_dataloader.dataset.pipeline
    for t in pipeline:
        if t['type'] == 'mmwsss.LoadCAMFile':
            t['cam_dir'] = cam_dir
        if t['type'] == 'mmwsss.LoadSaliencyMap':
            t['saliency_dir'] = sal_dir
    dataset_cfg = cfg.train_dataloader.dataset.copy()
    dataset_cfg.data_root = tiny_synthvoc
    dataset = DATASETS.build(dataset_cfg)
    items = [dataset[i] for i in range(2)]
    sample = items[0]['data_samples']
    assert items[0]['inputs'].shape == (3, 112, 112)
    assert sample.metainfo['gt_label'] == dataset.get_cat_ids(0)
    seeds = sample.gt_sem_seg.data
    assert {0, 255} <= set(seeds.unique().tolist())
    assert (seeds[(seeds != 0) & (seeds != 255)] > 0).any()

    torch.manual_seed(0)
    model = _model(cfg, num_classes=4)  # tiny_synthvoc: 3 classes
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    before = model.decode_head.aspp_convs[0].weight.detach().clone()
    model.train()
    losses = model.train_step(pseudo_collate(items), optim_wrapper)
    assert set(losses) == {'decode.loss_seed', 'decode.loss_constrain', 'loss'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['decode.loss_seed'] > 0
    assert not torch.equal(before, model.decode_head.aspp_convs[0].weight)


def test_rib_saliency_config_ignores_disagreements(tiny_synthvoc, tmp_path):
    """RIB + S: the first transforms of its pipeline turn the pseudo-mask
    pixels that the saliency contradicts into 255."""
    from mmcv.transforms import Compose
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'rib',
                 'deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321-rib-sal.py'))
    init_default_scope(cfg.default_scope)
    assert cfg.train_dataloader.dataset.pseudo_mask_dir == (
        'work_dirs/irnet-rw_r50_voc12aug-rib/pseudo_masks')
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t['type'] for t in pipeline[:4]] == [
        'LoadImageFromFile', 'mmwsss.LoadPseudoLabel',
        'mmwsss.LoadSaliencyMap', 'mmwsss.SaliencyIgnore'
    ]
    pipeline[2]['saliency_dir'] = str(tmp_path)
    img_id = 'sv_train_000001'
    gt_path = osp.join(tiny_synthvoc, 'SegmentationClass', img_id + '.png')
    with Image.open(gt_path) as img:
        gt = np.asarray(img)
    # Saliency: the objects, but the left half of the image is inverted.
    saliency = (gt > 0) & (gt != 255)
    half = gt.shape[1] // 2
    saliency[:, :half] = ~saliency[:, :half]
    write_saliency_map(
        str(tmp_path / f'{img_id}.png'), (saliency * 255).astype(np.uint8))
    results = Compose(pipeline[:4])(
        dict(
            img_path=osp.join(tiny_synthvoc, 'JPEGImages', img_id + '.jpg'),
            seg_map_path=gt_path,
            img_id=img_id))
    label = results['gt_seg_map']
    np.testing.assert_array_equal(label[:, half:], gt[:, half:])
    assert (label[:, :half] == 255).all()
