# Copyright (c) mmwsss contributors. All rights reserved.
"""The test stage of every method family, run from its SynthVOC config with
inputs that refuse host conversion unless moved with ``.cpu()``, as CUDA
tensors do (:func:`mmwsss.testing.device_like_inputs`).

Every batch must succeed (``stop_on_error``: the first failure fails the
test with its traceback) and write its outputs. Models have random weights:
what is checked is that predictions reach the writers and metrics on any
device, not their quality.
"""
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmwsss.testing import device_like_inputs
from mmwsss.utils.launch import build_runner

pytestmark = pytest.mark.slow

_LOADER = 'num_workers=0, persistent_workers=False'
_MULTI_SCALE = """[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=6),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5)),
              dict(type='mmwsss.PackCAMInputs')]"""
# A narrow ResNet-18 for the classifier configs (random weights).
_SMALL_CLASSIFIER = """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
"""


@pytest.fixture(scope='module')
def synthvoc(tmp_path_factory) -> str:
    """SynthVOC with the configs' 6 classes: 4 train, 2 val images and a
    20-image WSOL set."""
    from mmwsss.datasets.synthetic import generate_synthetic_voc
    root = str(tmp_path_factory.mktemp('synthvoc6'))
    generate_synthetic_voc(
        root, seed=0, num_train=4, num_val=2, num_ood=1,
        wsol_images_per_class=2)
    return root


def run_stage(tmp, name: str, config: str, **fields) -> dict:
    """Write ``config`` (formatted with ``fields``), run its test stage in
    this process under :func:`device_like_inputs` and return the metrics."""
    path = str(tmp / f'{name}.py')
    with open(path, 'w') as f:
        f.write(config.format(loader=_LOADER, **fields))
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp / f'{name}_work')
    cfg.experiment_name = f'device_like_{name}'
    cfg.launcher = 'none'
    cfg.load_from = None
    if cfg.test_cfg.get('type') == 'mmwsss.ResumableTestLoop':
        cfg.test_cfg.stop_on_error = True
    runner = build_runner(cfg)
    with device_like_inputs():
        return runner.test()


def assert_written(folder: str, count: int, pattern: str = '*.npz') -> None:
    assert len(glob.glob(osp.join(folder, pattern))) == count, folder
    manifest = json.load(open(osp.join(folder, 'manifest.json')))
    assert manifest['failures'] == []
    assert manifest['written_this_run'] == count


CAM = """
_base_ = ['{config}']
{model}
test_dataloader = dict({loader}, dataset=dict(data_root='{data}',
                       pipeline={pipeline}))
test_evaluator = [dict(type='mmwsss.CAMWriter', output_dir='{out}'),
                  dict(type='mmwsss.CAMSeedMetric')]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
"""

CAM_STAGES = {
    'cam': ('cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
            _SMALL_CLASSIFIER),
    'moana': ('moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py', """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64),
             neck=dict(in_channels=64))
"""),
    'advcam': ('advcam/advcam_cam-r18w32-os16_synthvoc.py',
               _SMALL_CLASSIFIER + 'model.update(adv_iter=2)\n'),
    'rib': ('rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py',
            _SMALL_CLASSIFIER + """model.update(
    num_iters=2, lr=0.01,
    rib_data=dict(dataset=dict(data_root='{data}'), batch_size=2,
                  num_workers=0))
"""),
    'ficklenet': ('ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py',
                  _SMALL_CLASSIFIER + 'model.update(num_draws=3)\n'),
    'gradcam': ('gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py',
                _SMALL_CLASSIFIER),
    'gradcampp': ('gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py',
                  _SMALL_CLASSIFIER + "model.update(method='gradcampp')\n"),
    'transcam': ('transcam/transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py',
                 """
model = dict(backbone=dict(
    arch=dict(embed_dims=48, depths=2, num_heads=3, channel_ratio=1),
    base_channels=8))
"""),
    'bnr': ('transcam/bnr_conformer-w16d6_1xb8-20e_synthvoc-112.py', """
model = dict(backbone=dict(
    arch=dict(embed_dims=48, depths=2, num_heads=3, channel_ratio=1),
    base_channels=8))
"""),
}


@pytest.fixture(scope='module')
def cam_files(synthvoc, repo_root, tmp_path_factory) -> str:
    """CAM files of the plain CAM classifier, written under the harness
    (the input of the IRN stages)."""
    tmp = tmp_path_factory.mktemp('device_like_cams')
    out = str(tmp / 'cams')
    config, model = CAM_STAGES['cam']
    run_stage(tmp, 'cam', CAM,
              config=osp.join(repo_root, 'configs', config), model=model,
              data=synthvoc, pipeline=_MULTI_SCALE, out=out)
    return out


@pytest.mark.parametrize('stage', sorted(CAM_STAGES))
def test_cam_stages(stage, synthvoc, repo_root, tmp_path, cam_files):
    if stage == 'cam':  # ran by the fixture
        assert_written(cam_files, 4)
        return
    config, model = CAM_STAGES[stage]
    out = str(tmp_path / 'cams')
    metrics = run_stage(
        tmp_path, stage, CAM,
        config=osp.join(repo_root, 'configs', config),
        model=model.format(data=synthvoc), data=synthvoc,
        pipeline=_MULTI_SCALE, out=out)
    assert_written(out, 4)
    assert 'cam_seed/mIoU' in metrics


WSOL = """
_base_ = ['{config}']
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
test_dataloader = dict({loader}, dataset=dict(data_root='{data}/wsol'))
val_dataloader = test_dataloader
"""


def test_wsol_stage(synthvoc, repo_root, tmp_path):
    metrics = run_stage(
        tmp_path, 'wsol', WSOL,
        config=osp.join(repo_root, 'configs', 'moana',
                        'cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py'),
        data=synthvoc)
    assert any('MaxBoxAcc' in key for key in metrics), metrics


IR_LABEL = """
_base_ = ['{config}']
model = dict(cam_dir='{cams}', num_workers=0)
test_dataloader = dict({loader}, dataset=dict(data_root='{data}'))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{out}'),
                  dict(type='mmwsss.IRLabelMetric')]
"""

RANDOM_WALK = """
_base_ = ['{config}']
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64),
             cam_dir='{cams}', exp_times=2)
test_dataloader = dict({loader}, dataset=dict(data_root='{data}'))
test_evaluator = [dict(type='mmwsss.PseudoMaskWriter', output_dir='{out}'),
                  dict(type='mmwsss.PseudoMaskMetric')]
"""

INSTANCE_WALK = """
_base_ = ['{config}']
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64),
             cam_dir='{cams}', exp_times=2)
test_dataloader = dict({loader}, dataset=dict(data_root='{data}'))
test_evaluator = [
    dict(type='mmwsss.InstancePseudoMaskWriter', output_dir='{out}',
         ann_file='{out}.json',
         source_ann_file='{data}/annotations/instances_train.json'),
    dict(type='mmwsss.InstancePseudoMaskMetric',
         instance_dir='{data}/SegmentationObject')]
"""


def test_ir_label_stage(synthvoc, repo_root, tmp_path, cam_files):
    out = str(tmp_path / 'ir_labels')
    run_stage(
        tmp_path, 'ir_label', IR_LABEL,
        config=osp.join(repo_root, 'configs', 'irn',
                        'ir-label_cam-r18-os16_synthvoc.py'),
        cams=cam_files, data=synthvoc, out=out)
    assert_written(out, 4, '*.png')


def test_random_walk_stages(synthvoc, repo_root, tmp_path, cam_files):
    semantic = str(tmp_path / 'pseudo_masks')
    run_stage(
        tmp_path, 'random_walk', RANDOM_WALK,
        config=osp.join(repo_root, 'configs', 'irn',
                        'irnet-rw_r18_synthvoc.py'),
        cams=cam_files, data=synthvoc, out=semantic)
    assert_written(semantic, 4, '*.png')
    instances = str(tmp_path / 'instances')
    run_stage(
        tmp_path, 'instance_walk', INSTANCE_WALK,
        config=osp.join(repo_root, 'configs', 'irn',
                        'irnet-ins_r18_synthvoc.py'),
        cams=cam_files, data=synthvoc, out=instances)
    assert_written(instances, 4, '*.json')
    assert osp.isfile(instances + '.json')


BBAM = """
_base_ = ['{config}']
model = dict(num_proposals=50, max_positives=5, num_iters=2,
             detector=dict(backbone=dict(base_channels=8),
                           neck=dict(in_channels=[8, 16, 32, 64])))
test_dataloader = dict({loader}, dataset=dict(data_root='{data}', indices=3))
_out = '{out}'
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir=_out + '/maps'),
    dict(type='mmwsss.BBAMPseudoMaskWriter', output_dir=_out + '/masks',
         fg_ann_file=_out + '/fg.json', ignore_ann_file=_out + '/ignore.json',
         semantic_dir=_out + '/semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
"""


def test_bbam_stage(synthvoc, repo_root, tmp_path):
    out = str(tmp_path / 'bbam')
    run_stage(
        tmp_path, 'bbam', BBAM,
        config=osp.join(repo_root, 'configs', 'bbam',
                        'bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py'),
        data=synthvoc, out=out)
    assert_written(out + '/maps', 3)
    assert osp.isfile(out + '/fg.json')


DEEPLAB = """
_base_ = ['{config}']
model = dict(backbone=dict(base_channels=8),
             decode_head=dict(in_channels=64))
test_dataloader = dict({loader}, dataset=dict(data_root='{data}'))
"""


def test_deeplab_stage(synthvoc, repo_root, tmp_path):
    metrics = run_stage(
        tmp_path, 'deeplab', DEEPLAB,
        config=osp.join(
            repo_root, 'configs', 'deeplabv2',
            'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py'),
        data=synthvoc)
    assert 'mIoU' in metrics
