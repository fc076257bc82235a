# Copyright (c) mmwsss contributors. All rights reserved.
"""Settings are checked when a model or transform is built, with the
setting named, not at the first image (or never)."""
import math

import numpy as np
import pytest

from mmwsss.datasets.transforms import MultiScaleResize
from mmwsss.models.utils.checks import (check_fraction, check_int_at_least,
                                        check_positive)
from mmwsss.registry import MODELS


def test_check_helpers():
    check_positive('M', beta=0.5)
    check_fraction('M', a=0, b=1)
    check_int_at_least('M', 1, radius=3)
    for bad in (0, -1, math.nan, 'x'):
        with pytest.raises(ValueError, match='M: beta must be > 0'):
            check_positive('M', beta=bad)
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match=r'M: a must lie in \[0, 1\]'):
            check_fraction('M', a=bad)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='radius must be an integer'):
            check_int_at_least('M', 1, radius=bad)


@pytest.mark.parametrize('setting, message', [
    (dict(fg_threshold=1.5), 'fg_threshold must lie'),
    (dict(bg_threshold=-0.1), 'bg_threshold must lie'),
    (dict(fg_threshold=0.1, bg_threshold=0.2), 'bg_threshold <= fg'),
])
def test_ir_label_generator_thresholds(setting, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(dict(type='mmwsss.IRLabelGenerator', **setting))


TINY_IRNET = dict(
    backbone=dict(
        type='mmpretrain.ResNet', depth=18, base_channels=8,
        out_indices=(0, 1, 2, 3)),
    in_channels=(64, 8, 16, 32, 64))


@pytest.mark.parametrize('walker, setting, message', [
    ('IRNetRandomWalk', dict(beta=0), 'beta must be > 0'),
    ('IRNetRandomWalk', dict(cam_power=-1.5), 'cam_power must be > 0'),
    ('IRNetRandomWalk', dict(exp_times=2.5), 'exp_times must be an integer'),
    ('IRNetRandomWalk', dict(walk_radius=0), 'walk_radius must be'),
    ('IRNetRandomWalk', dict(bg_threshold=1.2), 'bg_threshold must lie'),
    ('IRNetInstanceWalk', dict(min_area_ratio=2), 'min_area_ratio must lie'),
    ('IRNetInstanceWalk', dict(centre_threshold=0), 'centre_threshold'),
    ('IRNetInstanceWalk', dict(centroid_iterations=-1), 'centroid_iter'),
])
def test_random_walk_settings(walker, setting, message):
    with pytest.raises(ValueError, match=f'{walker}: {message}'):
        MODELS.build(dict(type=f'mmwsss.{walker}', **TINY_IRNET, **setting))


def test_multi_scale_resize_scales_and_tiny_images():
    with pytest.raises(ValueError, match='scales must be positive'):
        MultiScaleResize(scales=(1.0, 0.0))
    with pytest.raises(ValueError, match=r'tiny.jpg is 1x1 .*scale 0.5'):
        MultiScaleResize(scales=(1.0, 0.5))(
            dict(img=np.zeros((1, 1, 3), np.uint8), img_path='tiny.jpg'))
    out = MultiScaleResize(scales=(1.0, 2.0))(
        dict(img=np.zeros((1, 1, 3), np.uint8)))
    assert [im.shape[:2] for im in out['ms_imgs']] == [(1, 1), (2, 2)]
