# Copyright (c) mmwsss contributors. All rights reserved.
"""One training step of every trainable SynthVOC config on a CUDA device
(``gpu`` tests): the losses are finite, the step changes the weights, and
where nothing in the step draws random numbers on the device the losses
equal the CPU step's (relative tolerance 1e-3, TF32 off).

The same batch goes to both devices; the weights are the constructors'
(seed 0, drawn on the CPU), so both steps start from the same model.
"""
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

pytestmark = [pytest.mark.slow, pytest.mark.gpu]

_LOADER = 'batch_size=2, num_workers=0, persistent_workers=False'
_SMALL_CLASSIFIER = """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
"""

# name: (config under configs/, overrides, train dataset fields, losses
# comparable across devices)
TRAINABLE = {
    'cam': ('cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
            _SMALL_CLASSIFIER, "data_root='{data}'", True),
    'moana': ('moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py', """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64),
             neck=dict(in_channels=64))
""", "data_root='{data}'", True),
    'wsol': ('moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
             _SMALL_CLASSIFIER, "data_root='{data}/wsol'", True),
    'wsol_vgg16': ('cam/cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py', '',
                   "data_root='{data}/wsol'", True),
    # the tail's dropout draws on the device
    'wsol_inception_v3': (
        'cam/cam_inception-v3-os8_1xb16-40e_synthvoc-wsol-112.py', '',
        "data_root='{data}/wsol'", False),
    # window dropout draws on the device
    'ficklenet': ('ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py',
                  _SMALL_CLASSIFIER, "data_root='{data}'", False),
    # stochastic depth draws on the device
    'transcam': ('transcam/transcam_conformer-w16d6_1xb8-20e_synthvoc-112.py',
                 """
model = dict(backbone=dict(
    arch=dict(embed_dims=48, depths=3, num_heads=3, channel_ratio=1),
    base_channels=8))
""", "data_root='{data}'", False),
    'irnet': ('irn/irnet_r18w32_1xb16-10e_synthvoc-128.py', """
model = dict(backbone=dict(base_channels=8, init_cfg=None),
             in_channels=(64, 8, 16, 32, 64))
custom_hooks = []
""", "data_root='{data}', ir_label_dir='{data}/SegmentationClass'", True),
    'affinitynet': ('psa/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py', """
model = dict(backbone=dict(base_channels=8, init_cfg=None),
             in_channels=(16, 32, 64))
""", "data_root='{data}', ir_label_dir='{data}/SegmentationClass'", True),
    'deeplab': ('deeplabv2/'
                'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py',
                """
model = dict(backbone=dict(base_channels=8),
             decode_head=dict(in_channels=64))
""", "data_root='{data}', pseudo_mask_dir='{data}/SegmentationClass'",
                True),
    # proposal sampling draws on the device
    'faster_rcnn': ('bbam/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py',
                    """
model = dict(backbone=dict(base_channels=8, init_cfg=None),
             neck=dict(in_channels=[8, 16, 32, 64]))
""", "data_root='{data}'", False),
    'mask_rcnn_seed_growing': (
        'bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py', """
load_from = None
model = dict(backbone=dict(base_channels=8, init_cfg=None),
             neck=dict(in_channels=[8, 16, 32, 64]))
""", "data_root='{data}', data_prefix=dict(img='JPEGImages/'), "
        "ann_file='annotations/instances_train.json', "
        "ignore_ann_file='{data}/annotations/instances_train.json'", False),
}


def train_step(folder: str, name: str, config: str, device: str) -> tuple:
    """One step of ``config`` on ``device``: (log_vars, weight change)."""
    cfg = Config.fromfile(config)
    cfg.work_dir = osp.join(folder, f'{name}_{device}')
    cfg.experiment_name = f'{name}_{device}'
    cfg.randomness = dict(seed=0)
    cfg.launcher = 'none'
    with mock.patch('mmengine.runner.runner.get_device', lambda: device):
        runner = Runner.from_cfg(cfg)
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    before = [p.detach().clone() for p in runner.model.parameters()]
    runner.model.train()
    log_vars = runner.model.train_step(batch, optim_wrapper)
    change = max((p.detach() - b).abs().max().item()
                 for p, b in zip(runner.model.parameters(), before))
    return {k: float(v) for k, v in log_vars.items()}, change


@pytest.mark.parametrize('name', sorted(TRAINABLE))
def test_train_step_on_cuda(name, synthvoc, repo_root, tmp_path):
    config, overrides, dataset, comparable = TRAINABLE[name]
    path = str(tmp_path / f'{name}.py')
    with open(path, 'w') as f:
        f.write(f"_base_ = ['{osp.join(repo_root, 'configs', config)}']\n")
        f.write(overrides)
        f.write(f'train_dataloader = dict({_LOADER}, '
                f'dataset=dict({dataset.format(data=synthvoc)}))\n')
    cuda, cuda_change = train_step(str(tmp_path), name, path, 'cuda')
    assert all(torch.isfinite(torch.tensor(v)) for v in cuda.values()), cuda
    assert cuda_change > 0
    if comparable:
        cpu, _ = train_step(str(tmp_path), name, path, 'cpu')
        assert cuda.keys() == cpu.keys()
        for key in cpu:
            assert cuda[key] == pytest.approx(cpu[key], rel=1e-3,
                                              abs=1e-5), key
