# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest

from mmwsss.datasets.synthvoc.design import _EMBLEM_SHAPES
from mmwsss.datasets.synthvoc.rendering import (_EMBLEM_HULL, _emblem_level,
                                                _grid, _habitat)


@pytest.mark.parametrize('shape', _EMBLEM_SHAPES)
def test_emblem_level_is_a_gauge_within_its_hull(shape):
    yy, xx = _grid(121, 121)
    u, v = (xx - 60) / 40, (yy - 60) / 40
    level = _emblem_level(shape, u, v)
    assert np.allclose(_emblem_level(shape, 2 * u, 2 * v), 2 * level)
    assert _emblem_level(shape, np.ones(1), np.zeros(1))[0] == pytest.approx(1)
    assert np.hypot(u, v)[level <= 1].max() <= _EMBLEM_HULL[shape]


@pytest.mark.parametrize('index', range(8))
def test_habitats_render(index):
    image = _habitat(index, np.random.default_rng(0), 20, 30)
    assert image.shape == (20, 30, 3) and image.dtype == np.float32
    assert np.isfinite(image).all() and image.min() >= 0
