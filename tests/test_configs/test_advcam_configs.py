# Copyright (c) mmwsss contributors. All rights reserved.
"""The configs of configs/advcam load, build, and chain their stages: the
CAM writer's folder is what the IR-label and random-walk stages read, the
IR-label writer's folder what IRNet trains on; AdvCAM's IRN settings."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'advcam')
DATASETS = {
    'voc12aug': ('advcam_cam-r50-os16_voc12aug.py',
                 'ir-label_r50-os16_voc12aug-advcam.py',
                 'irnet_r50_1xb32-3e_voc12aug-512-advcam.py',
                 'irnet-rw_r50_voc12aug-advcam.py'),
    'coco14': ('advcam_cam-r50-os16_coco14.py',
               'ir-label_r50-os16_coco14-advcam.py',
               'irnet_r50_1xb32-3e_coco14-512-advcam.py',
               'irnet-rw_r50_coco14-advcam.py'),
    'synthvoc': ('advcam_cam-r18w32-os16_synthvoc.py',
                 'ir-label_r18w32-os16_synthvoc-advcam.py',
                 'irnet_r18w32_1xb16-10e_synthvoc-128-advcam.py',
                 'irnet-rw_r18w32_synthvoc-advcam.py'),
}
# Ablation variants: one base config and the lines they change.
ABLATIONS = {
    'advcam_cam-r18w32-os16_synthvoc_no-reg.py':
    ('advcam_cam-r18w32-os16_synthvoc.py',
     dict(suppress_other_classes=False, ad_coeff=0.0)),
}


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def test_all_configs_listed():
    names = {osp.basename(p) for p in glob.glob(osp.join(CONFIG_DIR, '*.py'))}
    assert names == {n for chain in DATASETS.values()
                     for n in chain} | set(ABLATIONS)


@pytest.mark.parametrize('name', sorted(ABLATIONS))
def test_ablation_variants_change_only_their_switches(name):
    base_name, changes = ABLATIONS[name]
    variant, base = _cfg(name), _cfg(base_name)
    assert variant.model.to_dict() == dict(base.model.to_dict(), **changes)
    init_default_scope(variant.default_scope)
    variant.model.backbone.init_cfg = None
    model = MODELS.build(variant.model)
    assert model.suppress_other_classes is False and model.ad_coeff == 0


@pytest.mark.parametrize('data', sorted(DATASETS))
def test_stages_chain_with_advcam_settings(data):
    cam, ir_label, irnet, rw = (_cfg(n) for n in DATASETS[data])
    assert cam.model.type == 'mmwsss.AdvCAMClassifier'
    assert (cam.model.adv_iter, cam.model.ad_coeff, cam.model.step_size,
            cam.model.score_th) == (27, 7.0, 0.08, 0.5)
    assert cam.test_cfg.type == 'mmwsss.ResumableTestLoop'
    cam_dir = cam.test_evaluator[0].output_dir
    assert cam.test_evaluator[0].type == 'mmwsss.CAMWriter'
    assert cam_dir == '{work_dir}/cams'
    # the next stages read it where the CAM config's default run writes it
    cam_stem = osp.splitext(osp.basename(cam.filename))[0]
    for stage in (ir_label, rw):
        loader = stage.test_dataloader.dataset.pipeline[1]
        assert loader.type == 'mmwsss.LoadCAMFile'
        assert loader.cam_dir == f'work_dirs/{cam_stem}/cams'
    assert (ir_label.model.fg_threshold,
            ir_label.model.bg_threshold) == (0.35, 0.15)
    assert ir_label.test_evaluator[0].output_dir == '{work_dir}/ir_labels'
    ir_label_stem = osp.splitext(osp.basename(ir_label.filename))[0]
    assert irnet.train_dataloader.dataset.ir_label_dir == (
        f'work_dirs/{ir_label_stem}/ir_labels')
    assert (rw.model.cam_power, rw.model.bg_threshold) == (1.5, 0.25)
    assert rw.test_evaluator[0].output_dir == '{work_dir}/pseudo_masks'
    # the rest is the IRN recipe of the inherited configs
    base_rw = Config.fromfile(
        osp.join(ROOT, 'configs', 'irn', osp.basename(
            rw.filename).replace('-advcam', '')))
    assert rw.model.beta == base_rw.model.beta
    assert rw.model.exp_times == base_rw.model.exp_times


@pytest.mark.parametrize('data', sorted(DATASETS))
def test_advcam_model_builds(data):
    cfg = _cfg(DATASETS[data][0])
    init_default_scope(cfg.default_scope)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.one_backward
    assert model.head.classifier.bias is None
