# Copyright (c) mmwsss contributors. All rights reserved.
"""configs/transcam: the reference recipe, and a tiny SynthVOC BNR run
through tools/train.py and tools/test.py that writes CAM files."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmwsss.utils import load_npz

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'transcam')
VOC = 'transcam_conformer-s_1xb8-20e_voc12aug-512.py'
SYNTH = 'transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py'


def _cfg(name):
    return Config.fromfile(osp.join(CONFIG_DIR, name))


def test_voc_reference_recipe():
    cfg = _cfg(VOC)
    assert cfg.model.backbone.arch == 'small'
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'
    assert cfg.model.test_sizes == (256, 512, 768)
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.optim_wrapper.optimizer == dict(
        type='AdamW', lr=5e-5, weight_decay=5e-4, eps=1e-8)
    assert cfg.param_scheduler == []
    crop = [t for t in cfg.train_pipeline if t.type == 'mmwsss.RandomCropPad']
    assert crop[0].crop_size == 512


@pytest.mark.parametrize('name', [VOC, VOC.replace('transcam_', 'bnr_')])
def test_voc_train_pipeline_runs_under_numpy2(name, tmp_path):
    """The recipe's colour jitter once crashed on negative hue shifts
    (mmcv's adjust_hue under numpy 2); run the pipeline on enough draws
    that both signs occur."""
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import init_default_scope
    from PIL import Image

    import mmwsss  # noqa: F401 (registers the transforms)
    img_path = str(tmp_path / 'img.jpg')
    Image.fromarray(
        np.random.RandomState(0).randint(0, 256, (60, 80, 3),
                                         np.uint8)).save(img_path)
    cfg = _cfg(name)
    init_default_scope(cfg.default_scope)
    pipeline = Compose(cfg.train_pipeline)
    for seed in range(8):
        np.random.seed(seed)
        out = pipeline(
            dict(img_path=img_path, gt_label=[1], img_id='img',
                 num_classes=20))
        assert tuple(out['inputs'].shape) == (3, 512, 512)


@pytest.mark.parametrize('plain', [VOC, SYNTH])
def test_bnr_configs_only_add_the_bnr_loss(plain):
    base, bnr = _cfg(plain), _cfg(plain.replace('transcam_', 'bnr_'))
    assert not base.model.bnr and bnr.model.bnr
    assert bnr.model.bnr_loss_weight == 1.0
    bnr.model.bnr = False
    del bnr.model['bnr_loss_weight']
    assert bnr.model == base.model
    assert bnr.optim_wrapper == base.optim_wrapper
    # each writes into its own run's work dir
    assert bnr.test_evaluator[0].output_dir == '{work_dir}/cams'


TINY = """
_base_ = ['{repo}/configs/transcam/bnr_conformer-w16d6_1xb8-20e_synthvoc-112.py']
data_root = '{data}'
model = dict(num_classes=3, test_sizes=(32, 64),
             data_preprocessor=dict(num_classes=3),
             backbone=dict(arch=dict(embed_dims=32, depths=3, num_heads=2,
                                     channel_ratio=1)))
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=4, **_loader,
    dataset=dict(data_root=data_root))
test_dataloader = dict(**_loader, dataset=dict(data_root=data_root,
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.MultiScaleResize', scales=(1.0, )),
              dict(type='mmwsss.PackCAMInputs')]))
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
"""


def _run(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_synthvoc_bnr_trains_and_writes_cams(tiny_synthvoc, tmp_path):
    cfg = str(tmp_path / 'tiny_bnr.py')
    with open(cfg, 'w') as f:
        f.write(TINY.format(repo=ROOT, data=tiny_synthvoc))
    log = _run(['tools/train.py', cfg, '--work-dir', str(tmp_path / 'w')])
    assert 'loss_bnr' in log
    out = str(tmp_path / 'cams')
    log = _run([
        'tools/test.py', cfg,
        str(tmp_path / 'w' / 'epoch_1.pth'), '--work-dir',
        str(tmp_path / 't'), '--cfg-options',
        f'test_evaluator.0.output_dir={out}'
    ])
    assert 'cam_seed/mIoU' in log
    files = sorted(glob.glob(osp.join(out, '*.npz')))
    assert len(files) == 8
    for name in files:
        arrays = load_npz(name)
        keys, strided, high_res = (arrays['keys'], arrays['strided'],
                                   arrays['high_res'])
        assert high_res.shape[0] == strided.shape[0] == keys.shape[0] > 0
        assert high_res.min() >= 0 and high_res.max() < 1
        assert strided.shape[1:] == tuple(
            (s - 1) // 4 + 1 for s in high_res.shape[1:])
