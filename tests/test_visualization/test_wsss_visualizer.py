# Copyright (c) mmwsss contributors. All rights reserved.
"""WSSSVisualizer draws the fields each stage produces."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from PIL import Image

from mmwsss.fileio import voc_palette
from mmwsss.registry import VISUALIZERS
from mmwsss.visualization import (draw_feature_map, draw_label_map, grid,
                                  side_by_side)

H, W = 24, 32
RED = voc_palette(2)[1]  # class 1


@pytest.fixture
def visualizer():
    vis = VISUALIZERS.build(
        dict(type='mmwsss.WSSSVisualizer', name='test_vis', alpha=0.5))
    vis.dataset_meta = dict(classes=('cat', 'dog', 'car'))
    return vis


def _image():
    return np.full((H, W, 3), 128, np.uint8)


def _titles(panels):
    return [title for title, _ in panels]


def test_label_map_colours_and_ignore_band():
    label = np.zeros((H, W), np.uint8)
    label[2:6, 2:6] = 1
    label[10:12] = 255
    out = draw_label_map(_image(), label, alpha=1.0)
    np.testing.assert_array_equal(out[3, 3], RED)
    np.testing.assert_array_equal(out[11, 0], voc_palette(256)[255])
    np.testing.assert_array_equal(out[0, 0], [128, 128, 128])


def test_feature_map_blocks_and_grid():
    values = np.array([[0.0, 1.0], [0.5, 0.25]], np.float32)
    drawn = draw_feature_map(values, (6, 10))
    assert drawn.shape == (6, 10, 3) and drawn.dtype == np.uint8
    # each cell a block of one colour (no interpolation), jet's ends
    assert (drawn[:3, :5] == drawn[0, 0]).all()
    assert (drawn[3:, 5:] == drawn[5, 9]).all()
    assert drawn[0, 0].tolist() == [0, 0, 127]  # dark blue at 0
    assert drawn[0, 9].tolist() == [127, 0, 0]  # dark red at 1
    panels = [(str(k), np.full((4, 5 + k, 3), 10 * k, np.uint8))
              for k in range(5)]
    canvas = grid(panels, columns=2, gap=3)
    rows = [side_by_side(panels[i:i + 2], gap=3) for i in (0, 2, 4)]
    assert canvas.shape == (3 * rows[0].shape[0] + 2 * 3,
                            rows[1].shape[1], 3)
    y = 0
    for row in rows:
        np.testing.assert_array_equal(
            canvas[y:y + row.shape[0], :row.shape[1]], row)
        assert (canvas[y:y + row.shape[0], row.shape[1]:] == 255).all()
        y += row.shape[0] + 3


def test_cam_seeds_prediction_and_ground_truth(visualizer):
    maps = np.zeros((2, H, W), np.float32)
    maps[0, :, :10] = 1.0
    maps[1, :, 20:] = 0.5
    gt = torch.zeros(1, H, W, dtype=torch.uint8)
    gt[:, :, 20:] = 3
    sample = dict(
        cam_keys=torch.tensor([0, 2]),
        cam_high_res=torch.from_numpy(maps),
        pred_sem_seg=PixelData(data=gt.clone()),
        gt_sem_seg=PixelData(data=gt))
    panels = visualizer.panels(_image(), sample)
    assert _titles(panels) == [
        'image', 'CAM cat', 'CAM car', 'seeds @0.15', 'prediction',
        'ground truth'
    ]
    seeds = dict(panels)['seeds @0.15']
    # class 0 -> label 1 (red) left, class 2 -> label 3 right, bg between
    np.testing.assert_array_equal(seeds[5, 2], (128 * 0.4 + RED * 0.6)
                                  .astype(np.uint8))
    np.testing.assert_array_equal(seeds[5, 15], [128, 128, 128])
    assert not np.array_equal(seeds[5, 25], [128, 128, 128])
    only_gt = visualizer.panels(_image(), sample, draw_pred=False)
    assert _titles(only_gt) == ['image', 'ground truth']


def test_bbam_instances_and_wsol(visualizer):
    masks = np.zeros((1, H, W), bool)
    masks[0, 4:12, 4:12] = True
    sample = dict(
        pred_instances=InstanceData(
            bboxes=torch.tensor([[4., 4., 12., 12.]]),
            labels=torch.tensor([1]),
            masks=torch.from_numpy(masks),
            bbams=[torch.rand(6, 8)]))
    assert _titles(visualizer.panels(_image(), sample)) == [
        'image', 'BBAM', 'instances'
    ]
    score_map = np.zeros((12, 16), np.float32)
    score_map[2:6, 4:10] = 1
    wsol = dict(
        cam_gt=torch.from_numpy(score_map),
        gt_bboxes=torch.tensor([[8., 4., 20., 12.]]),
        ori_shape=(H, W))
    panels = visualizer.panels(_image(), wsol)
    assert _titles(panels) == ['image', 'WSOL @0.2']
    panel = dict(panels)['WSOL @0.2']
    np.testing.assert_array_equal(panel[4, 14], [40, 220, 40])  # GT edge


def test_row_is_saved(visualizer, tmp_path):
    out = tmp_path / 'row.png'
    row = visualizer.add_datasample(
        'x', _image(),
        dict(gt_sem_seg=PixelData(data=torch.ones(1, H, W, dtype=torch.uint8))),
        out_file=str(out))
    assert row.shape == (H + 14, 2 * W + 4, 3)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), row)
    assert side_by_side([('a', _image())]).shape == (H + 14, W, 3)
