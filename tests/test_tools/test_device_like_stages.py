# Copyright (c) mmwsss contributors. All rights reserved.
"""The test stage of every method family, run from its SynthVOC config:

- on the CPU with inputs that refuse host conversion unless moved with
  ``.cpu()``, as CUDA tensors do (:func:`mmwsss.testing.device_like_inputs`):
  every batch must succeed (``stop_on_error``: the first failure fails the
  test with its traceback) and write its outputs;
- on a CUDA device (``gpu`` tests), against the same stage on the CPU, with
  the tolerance stated per stage.

Models have random weights (seeded, so equal on both devices): what is
checked is that predictions reach writers and metrics on any device and
agree across devices, not their quality.
"""
import glob
import json
import os.path as osp
from unittest import mock

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmwsss.fileio import load_npz
from mmwsss.testing import device_like_inputs
from mmwsss.utils.launch import build_runner

pytestmark = pytest.mark.slow

_LOADER = 'num_workers=0, persistent_workers=False'
_MULTI_SCALE = """[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=6),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5)),
              dict(type='mmwsss.PackCAMInputs')]"""


def _cam_file_pipeline(maps: str) -> str:
    """The IRN stages' test pipeline, reading the CAM files of the
    ``{cams}`` placeholder."""
    return f"""[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{{cams}}',
                   arrays=('keys', '{maps}')),
              dict(type='mmwsss.LoadLabelMap', num_classes=6),
              dict(type='mmwsss.PackCAMInputs')]"""


# A narrow ResNet-18 for the classifier configs.
_SMALL_CLASSIFIER = """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
"""
_SMALL_CONFORMER = """
model = dict(backbone=dict(
    arch=dict(embed_dims=48, depths=3, num_heads=3, channel_ratio=1),
    base_channels=8))
"""
def run_stage(folder, name: str, template: str, device: str = 'device-like',
              **fields) -> dict:
    """Write ``template`` (formatted with ``fields``) into ``folder`` and run
    its test stage in this process; return the metrics.

    ``device``: ``'device-like'`` (CPU under :func:`device_like_inputs`),
    ``'cpu'`` or ``'cuda'``. Weights are drawn with seed 0 on the CPU, so
    they are the same on every device.
    """
    path = osp.join(folder, f'{name}.py')
    with open(path, 'w') as f:
        f.write(template.format(loader=_LOADER, **fields))
    cfg = Config.fromfile(path)
    cfg.work_dir = osp.join(folder, f'{name}_work')
    cfg.experiment_name = f'{name}_{device}'
    cfg.launcher = 'none'
    cfg.load_from = None
    cfg.randomness = dict(seed=0)
    if cfg.test_cfg.get('type') == 'mmwsss.ResumableTestLoop':
        cfg.test_cfg.stop_on_error = True
    on = 'cuda' if device == 'cuda' else 'cpu'
    with mock.patch('mmengine.runner.runner.get_device', lambda: on):
        runner = build_runner(cfg)
        if device != 'device-like':
            return runner.test()
        with device_like_inputs():
            return runner.test()


def assert_written(folder: str, count: int, pattern: str = '*.npz') -> None:
    assert len(glob.glob(osp.join(folder, pattern))) == count, folder
    manifest = json.load(open(osp.join(folder, 'manifest.json')))
    assert manifest['failures'] == []
    assert manifest['written_this_run'] == count


class Stage:
    """A family's test stage: its config template and what it writes.

    Args:
        template (str): Config text; ``{config}`` is the repository config,
            ``{data}``, ``{out}``, ``{cams}`` and ``{loader}`` are filled in.
        config (str): Path of the SynthVOC config under ``configs/``.
        model (str): Config lines shrinking the model.
        outputs (str): Glob of the per-image files under ``{out}``, or None
            for a stage that only scores.
        atol (float): Largest difference of a stored map between CUDA and
            CPU (maps are in [0, 1]); for label maps, the largest fraction
            of pixels whose label may differ.
    """

    def __init__(self, template, config, model='', outputs='*.npz',
                 atol=1e-3):
        self.template = template
        self.config = config
        self.model = model
        self.outputs = outputs
        self.atol = atol

    def run(self, folder, repo, data, cams, device) -> dict:
        out = osp.join(folder, 'out')
        metrics = run_stage(
            folder, 'stage', self.template, device=device,
            config=osp.join(repo, 'configs', self.config),
            model=self.model.format(data=data), data=data, cams=cams,
            out=out, pipeline=_MULTI_SCALE)
        return dict(metrics=metrics, out=out)


CAM = """
_base_ = ['{config}']
{model}
test_dataloader = dict({loader}, dataset=dict(data_root='{data}',
                       pipeline={pipeline}))
test_evaluator = [dict(type='mmwsss.CAMWriter', output_dir='{out}'),
                  dict(type='mmwsss.CAMSeedMetric')]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
"""

WSOL = """
_base_ = ['{config}']
{model}
test_dataloader = dict({loader}, dataset=dict(data_root='{data}/wsol'))
"""

IR_LABEL = """
_base_ = ['{config}']
model = dict(num_workers=0)
test_dataloader = dict({loader}, dataset=dict(data_root='{data}',
                       pipeline=""" + _cam_file_pipeline('high_res') + """))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{out}'),
                  dict(type='mmwsss.IRLabelMetric')]
"""

_SMALL_IRNET = """
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64),
             exp_times=2)
test_dataloader = dict({loader}, dataset=dict(data_root='{data}',
                       pipeline=""" + _cam_file_pipeline('strided') + """))
"""

RANDOM_WALK = """
_base_ = ['{config}']
""" + _SMALL_IRNET + """
test_evaluator = [dict(type='mmwsss.PseudoMaskWriter', output_dir='{out}'),
                  dict(type='mmwsss.PseudoMaskMetric')]
"""

INSTANCE_WALK = """
_base_ = ['{config}']
""" + _SMALL_IRNET + """
test_evaluator = [
    dict(type='mmwsss.InstancePseudoMaskWriter', output_dir='{out}',
         ann_file='{out}.json',
         source_ann_file='{data}/annotations/instances_train.json'),
    dict(type='mmwsss.InstancePseudoMaskMetric',
         instance_dir='{data}/SegmentationObject')]
"""

BBAM = """
_base_ = ['{config}']
model = dict(num_proposals=50, max_positives=5, num_iters=2,
             detector=dict(backbone=dict(base_channels=8),
                           neck=dict(in_channels=[8, 16, 32, 64])))
test_dataloader = dict({loader}, dataset=dict(data_root='{data}'))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir='{out}'),
    dict(type='mmwsss.BBAMPseudoMaskWriter', output_dir='{out}_masks',
         fg_ann_file='{out}_fg.json', ignore_ann_file='{out}_ignore.json',
         semantic_dir='{out}_semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
"""

DEEPLAB = """
_base_ = ['{config}']
model = dict(backbone=dict(base_channels=8),
             decode_head=dict(in_channels=64))
# the demo pipeline's prediction stage: the train split, predictions written
test_dataloader = dict({loader}, dataset=dict(
    data_root='{data}', ann_file='ImageSets/Segmentation/train.txt'))
test_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                  dict(type='mmwsss.LabelMapWriter', output_dir='{out}')]
"""

STAGES = {
    'cam': Stage(CAM, 'cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
                 _SMALL_CLASSIFIER),
    'moana': Stage(
        CAM, 'moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py', """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64),
             neck=dict(in_channels=64))
"""),
    # climbing amplifies rounding over its steps
    'advcam': Stage(
        CAM, 'advcam/advcam_cam-r18w32-os16_synthvoc.py',
        _SMALL_CLASSIFIER + 'model.update(adv_iter=2)\n', atol=1e-2),
    # per-image fine-tuning: SGD steps amplify rounding
    'rib': Stage(
        CAM, 'rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py',
        _SMALL_CLASSIFIER + """model.update(
    num_iters=2, lr=0.01,
    rib_data=dict(dataset=dict(data_root='{data}'), batch_size=2,
                  num_workers=0))
""", atol=2e-2),
    'ficklenet': Stage(
        CAM, 'ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py',
        _SMALL_CLASSIFIER + 'model.update(num_draws=3)\n'),
    'gradcam': Stage(CAM, 'gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py',
                     _SMALL_CLASSIFIER),
    'gradcampp': Stage(
        CAM, 'gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py',
        _SMALL_CLASSIFIER + "model.update(method='gradcampp')\n"),
    'transcam': Stage(
        CAM, 'transcam/transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py',
        _SMALL_CONFORMER),
    'bnr': Stage(CAM, 'transcam/bnr_conformer-w16d6_1xb8-20e_synthvoc-112.py',
                 _SMALL_CONFORMER),
    'wsol': Stage(
        WSOL, 'moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
        _SMALL_CLASSIFIER, outputs=None),
    # label maps: fraction of pixels
    'ir_label': Stage(
        IR_LABEL, 'irn/ir-label_r18w32-os16_synthvoc.py', outputs='*.png',
        atol=0.01),
    'random_walk': Stage(
        RANDOM_WALK, 'irn/irnet-rw_r18w32_synthvoc.py', outputs='*.png',
        atol=0.01),
    'instance_walk': Stage(
        INSTANCE_WALK, 'irn/irnet-ins_r18w32_synthvoc.py',
        outputs='*.instances.json'),
    # Adam steps on the masks amplify rounding
    'bbam': Stage(BBAM, 'bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py',
                  atol=2e-2),
    'deeplab': Stage(
        DEEPLAB,
        'deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py',
        outputs='*.png', atol=0.01),
}


@pytest.fixture(scope='module')
def cam_run(synthvoc, repo_root, tmp_path_factory) -> dict:
    """The plain CAM stage under the harness: its ``metrics`` and ``out``
    folder, whose CAM files are the input of the IRN stages."""
    folder = str(tmp_path_factory.mktemp('device_like_cams'))
    return STAGES['cam'].run(folder, repo_root, synthvoc, None,
                             'device-like')


@pytest.fixture(scope='module')
def cam_files(cam_run) -> str:
    return cam_run['out']


@pytest.mark.parametrize('name', sorted(STAGES))
def test_stage_with_device_like_inputs(name, synthvoc, repo_root, tmp_path,
                                       cam_run):
    stage = STAGES[name]
    if name == 'cam':  # the fixture's run
        result = cam_run
    else:
        result = stage.run(str(tmp_path), repo_root, synthvoc,
                           cam_run['out'], 'device-like')
    if stage.outputs is not None:
        with open(osp.join(synthvoc, 'ImageSets/Segmentation/train.txt')) as f:
            num_train = len(f.read().split())
        assert_written(result['out'], num_train, stage.outputs)
    if stage.template is CAM:
        assert 'cam_seed/mIoU' in result['metrics']
    if name == 'wsol':
        assert any('MaxBoxAcc' in key for key in result['metrics'])
    if name == 'deeplab':
        assert 'mIoU' in result['metrics']
    if name == 'instance_walk':
        assert osp.isfile(result['out'] + '.json')


def _read(path: str):
    if path.endswith('.npz'):
        return load_npz(path)
    if path.endswith('.png'):
        return dict(labels=np.asarray(Image.open(path)))
    with open(path) as f:
        return json.load(f)


def assert_outputs_agree(cuda_dir: str, cpu_dir: str, pattern: str,
                         atol: float) -> None:
    """The files of both runs agree: maps up to ``atol``, label maps on all
    but a fraction ``atol`` of the pixels, json records exactly in their
    number and classes."""
    names = sorted(map(osp.basename, glob.glob(osp.join(cpu_dir, pattern))))
    assert names and names == sorted(
        map(osp.basename, glob.glob(osp.join(cuda_dir, pattern))))
    for name in names:
        cuda = _read(osp.join(cuda_dir, name))
        cpu = _read(osp.join(cpu_dir, name))
        if pattern.endswith('.json'):
            assert len(cuda) == len(cpu), name
            continue
        assert cuda.keys() == cpu.keys(), name
        for key in cpu:
            if key == 'labels':
                assert np.mean(cuda[key] != cpu[key]) <= atol, name
            else:
                np.testing.assert_allclose(
                    cuda[key], cpu[key], rtol=0, atol=atol,
                    err_msg=f'{name}: {key}')


@pytest.mark.gpu
@pytest.mark.parametrize('name', sorted(STAGES))
def test_stage_on_cuda_matches_cpu(name, synthvoc, repo_root, tmp_path,
                                   cam_files):
    stage = STAGES[name]
    runs = {}
    for device in ('cpu', 'cuda'):
        folder = tmp_path / device
        folder.mkdir()
        runs[device] = stage.run(str(folder), repo_root, synthvoc, cam_files,
                                 device)
    if stage.outputs is not None:
        assert_outputs_agree(runs['cuda']['out'], runs['cpu']['out'],
                             stage.outputs, stage.atol)
    for key, value in runs['cpu']['metrics'].items():
        if isinstance(value, float):
            # scores are percentages (or fractions) of a few images
            assert abs(runs['cuda']['metrics'][key] - value) <= max(
                1.0, abs(value) * 0.05), key
