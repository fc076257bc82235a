# Copyright (c) mmwsss contributors. All rights reserved.
"""Settings are checked when a model or transform is built, with the
setting named, not at the first image (or never)."""
import math

import numpy as np
import pytest

from mmwsss.datasets.transforms import MultiScaleResize
from mmwsss.models.utils.checks import (check_fraction, check_int_at_least,
                                        check_positive)


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


# Each setting of the IR-label generator and the walks refused at build:
# tests/test_bad_inputs.py.


def test_multi_scale_resize_scales_and_tiny_images():
    with pytest.raises(ValueError, match='scales must be positive'):
        MultiScaleResize(scales=(1.0, 0.0))
    with pytest.raises(ValueError, match=r'tiny.jpg is 1x1 .*scale 0.5'):
        MultiScaleResize(scales=(1.0, 0.5))(
            dict(img=np.zeros((1, 1, 3), np.uint8), img_path='tiny.jpg'))
    out = MultiScaleResize(scales=(1.0, 2.0))(
        dict(img=np.zeros((1, 1, 3), np.uint8)))
    assert [im.shape[:2] for im in out['ms_imgs']] == [(1, 1), (2, 2)]
