# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/analysis/visualize_cam.py on tiny random mmpretrain classifiers."""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from PIL import Image
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from mmwsss.models.gradcam import ClassifierLogits
from mmwsss.registry import MODELS
from mmwsss.testing import run_tool, write_tiny_mmpretrain_config
from mmwsss.utils import save_npz
from mmwsss.visualization import draw_heatmap

TITLE = 14  # the title band above each panel (side_by_side)
GAP = 4  # between panels

VIT = """
_base_ = ['{base}']
model = dict(
    backbone=dict(_delete_=True, type='VisionTransformer',
                  arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                            feedforward_channels=64),
                  img_size=32, patch_size=8),
    neck=None,
    head=dict(_delete_=True, type='VisionTransformerClsHead', num_classes=2,
              in_channels=32,
              init_cfg=dict(type='Normal', layer='Linear', std=0.5)))
"""


def _load_tool(repo: str):
    path = osp.join(repo, 'tools', 'analysis', 'visualize_cam.py')
    spec = importlib.util.spec_from_file_location('visualize_cam', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkpoint(config: str, path: str) -> torch.nn.Module:
    cfg = Config.fromfile(config)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict()}, path)
    return model.eval()


@pytest.fixture(scope='module')
def setup(repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('vis_cam')
    cnn_cfg = write_tiny_mmpretrain_config(str(tmp / 'cnn.py'), str(tmp))
    vit_cfg = str(tmp / 'vit.py')
    with open(vit_cfg, 'w') as f:
        f.write(VIT.format(base=cnn_cfg))
    cnn = _checkpoint(cnn_cfg, str(tmp / 'cnn.pth'))
    _checkpoint(vit_cfg, str(tmp / 'vit.pth'))
    image = str(tmp / 'img.png')
    rgb = np.random.default_rng(0).integers(0, 255, (40, 48, 3), np.uint8)
    Image.fromarray(rgb).save(image)
    return dict(tool=_load_tool(repo_root), tmp=tmp, cnn_cfg=cnn_cfg,
                vit_cfg=vit_cfg, cnn=cnn, image=image, rgb=rgb)


@pytest.mark.slow
def test_cli_writes_the_gradcam_overlay(setup, repo_root):
    tmp = setup['tmp']
    out = str(tmp / 'cnn_gradcam.png')
    proc = run_tool([
        'tools/analysis/visualize_cam.py', setup['image'], setup['cnn_cfg'],
        str(tmp / 'cnn.pth'), '--method', 'gradcam', '--target-layers',
        'backbone.layer4', '--target-category', '1', '--save-path', out,
        '--device', 'cpu'
    ], timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    drawn = np.asarray(Image.open(out))
    # what grad-cam itself draws: the mmpretrain preprocessor turns the BGR
    # input of its pipelines (to_rgb=True) to RGB
    model = setup['cnn']
    bgr = torch.from_numpy(setup['rgb'][..., ::-1].transpose(2, 0, 1).copy())
    inputs = model.data_preprocessor(dict(inputs=[bgr]), False)['inputs']
    with GradCAM(ClassifierLogits(model), [model.backbone.layer4]) as cam:
        expected = cam(inputs, [ClassifierOutputTarget(1)])[0]
    assert expected.max() > 0.99
    # one titled panel: grad-cam's map drawn by the visualizer's heat map
    assert drawn.shape == (TITLE + 40, 48, 3)
    np.testing.assert_array_equal(drawn[TITLE:],
                                  draw_heatmap(setup['rgb'], expected))
    assert (drawn[:TITLE] < 128).any()  # the title


def test_vit_methods_and_several_classes(setup):
    tmp = setup['tmp']
    for method in ('gradcampp', 'eigencam', 'ScoreCAM'):
        out = str(tmp / f'vit_{method}.png')
        setup['tool'].main([
            setup['image'], setup['vit_cfg'], str(tmp / 'vit.pth'),
            '--method', method, '--target-layers', 'backbone.layers[-1].ln1',
            '--vit-like', '--target-category', '0', '1', '--aug-smooth',
            '--resize', '32', '40', '--save-path', out
        ])
        assert np.asarray(Image.open(out)).shape == (TITLE + 32,
                                                     2 * 40 + GAP, 3)


def test_cam_file_mode(setup):
    tmp = setup['tmp']
    cams = np.zeros((2, 40, 48), np.float32)
    cams[0, :20], cams[1, 20:] = 0.9, 0.5
    cam_file = str(tmp / 'img.npz')
    save_npz(cam_file, dict(keys=np.array([0, 2]), strided=cams[:, ::4, ::4],
                            high_res=cams))
    out = str(tmp / 'from_file.png')
    setup['tool'].main([setup['image'], '--cam-file', cam_file,
                        '--save-path', out])
    both = np.asarray(Image.open(out))
    assert both.shape == (TITLE + 40, 2 * 48 + GAP, 3)
    np.testing.assert_array_equal(both[TITLE:, :48],
                                  draw_heatmap(setup['rgb'], cams[0]))
    setup['tool'].main([setup['image'], '--cam-file', cam_file,
                        '--target-category', '2', '--save-path', out])
    drawn = np.asarray(Image.open(out))
    assert drawn.shape == (TITLE + 40, 48, 3)
    np.testing.assert_array_equal(drawn[TITLE:],
                                  draw_heatmap(setup['rgb'], cams[1]))
    np.testing.assert_array_equal(drawn[TITLE:], both[TITLE:, 48 + GAP:])
    with pytest.raises(SystemExit, match=r'holds the classes \[0, 2\]'):
        setup['tool'].main([setup['image'], '--cam-file', cam_file,
                            '--target-category', '1', '--save-path', out])


def test_clear_errors(setup, capsys):
    tmp, tool = setup['tmp'], setup['tool']
    base = [setup['image'], setup['cnn_cfg'], str(tmp / 'cnn.pth'),
            '--save-path', str(tmp / 'x.png')]
    with pytest.raises(SystemExit, match="no submodule 'layer9'.*layer4"):
        tool.main(base + ['--target-layers', 'backbone.layer9'])
    with pytest.raises(SystemExit, match='out of range'):
        tool.main(base + ['--target-category', '7'])
    with pytest.raises(SystemExit, match='expected'):
        tool.main(base + ['--vit-like'])
    with pytest.raises(SystemExit):
        tool.main(base + ['--method', 'gradcam+++'])
    assert 'invalid choice' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.main([setup['image'], '--save-path', 'x.png'])
    assert '--cam-file' in capsys.readouterr().err
