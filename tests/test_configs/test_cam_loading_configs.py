# Copyright (c) mmwsss contributors. All rights reserved.
"""Every stage that starts from CAM files loads them in its test pipeline
(mmwsss.LoadCAMFile, right after the image) with the arrays its model needs,
so that one --cfg-options key points any of them at another CAM folder."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmwsss.utils.launch import move_cam_dir_to_pipeline

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CAM_DIR_OPTION = 'test_dataloader.dataset.pipeline.1.cam_dir'
# model type -> the CAM arrays it reads
ARRAYS = {
    'mmwsss.IRLabelGenerator': ('keys', 'high_res'),
    'mmwsss.IRNetRandomWalk': ('keys', 'strided'),
    'mmwsss.IRNetInstanceWalk': ('keys', 'strided'),
    'mmwsss.PSALabelGenerator': ('keys', 'high_res'),
    'mmwsss.AffinityNetRandomWalk': ('keys', 'high_res'),
}


def _cam_stage_configs():
    found = []
    for path in sorted(glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))):
        cfg = Config.fromfile(path)
        if cfg.get('model', {}).get('type') in ARRAYS:
            found.append((osp.relpath(path, ROOT), cfg))
    return found


CONFIGS = _cam_stage_configs()


def test_the_stages_are_found():
    # irn 8, advcam 6, rib 6, ficklenet 2, psa 4, wood 2 (COCO 2014: 2
    # each)
    assert len(CONFIGS) == 28


@pytest.mark.parametrize('name,cfg', CONFIGS, ids=[n for n, _ in CONFIGS])
def test_cams_are_loaded_by_the_pipeline(name, cfg):
    assert 'cam_dir' not in cfg.model, 'model.cam_dir is deprecated'
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[0].type == 'mmwsss.LoadImageRGB'
    loader = pipeline[1]
    assert loader.type == 'mmwsss.LoadCAMFile'
    assert tuple(loader.arrays) == ARRAYS[cfg.model.type]
    assert loader.cam_dir == cfg.cam_dir
    # the CAMs of a CAM config's default work dir
    assert loader.cam_dir.startswith('work_dirs/')
    assert loader.cam_dir.endswith('/cams')
    cfg.merge_from_dict({CAM_DIR_OPTION: 'elsewhere'})
    assert cfg.test_dataloader.dataset.pipeline[1].cam_dir == 'elsewhere'


def test_a_deprecated_model_cam_dir_still_chooses_the_folder():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/rib/irnet-rw_r18w32_synthvoc-rib.py'))
    cfg.merge_from_dict({'model.cam_dir': 'old/cams'})
    with pytest.warns(DeprecationWarning, match='pipeline.1.cam_dir'):
        assert move_cam_dir_to_pipeline(cfg)
    assert 'cam_dir' not in cfg.model
    assert cfg.test_dataloader.dataset.pipeline[1].cam_dir == 'old/cams'
    assert not move_cam_dir_to_pipeline(cfg)
    # a pipeline without LoadCAMFile: the model reads the files itself
    cfg.model.cam_dir = 'old/cams'
    cfg.test_dataloader.dataset.pipeline = [dict(type='mmwsss.LoadImageRGB')]
    assert not move_cam_dir_to_pipeline(cfg)
    assert cfg.model.cam_dir == 'old/cams'
