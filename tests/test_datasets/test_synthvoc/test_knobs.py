# Copyright (c) mmwsss contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from mmwsss.datasets.synthvoc import (SYNTHVOC_DEFAULT_KNOBS,
                                      generate_synthetic_voc)
from mmwsss.datasets.synthvoc.knobs import _resolve_knobs


@pytest.mark.parametrize('knobs, match', [
    (dict(num_classes=0), 'num_classes'),
    (dict(num_classes=21), 'num_classes'),
    (dict(num_train=-1), 'num_train'),
    (dict(num_train=2.5), 'num_train'),
    (dict(habitat_prob=1.5), 'habitat_prob'),
    (dict(body_texture_bias=-0.1), 'body_texture_bias'),
    (dict(image_size=(100, 90)), 'image_size'),
    (dict(image_size=100), 'image_size'),
    (dict(objects_per_image=(0, 2)), 'objects_per_image'),
    (dict(emblem_area=(0.1, 0.9)), 'emblem_area'),
    (dict(emblem_area=(0.1, 0.11)), 'emblem_area'),
    (dict(emblem_parts=(0, 2)), 'emblem_parts'),
    (dict(emblem_parts=(2, 5)), 'emblem_parts'),
    (dict(object_scale=(0.1, 0.5)), 'object_scale'),
    (dict(void_width=True), 'void_width'),
    (dict(wsol_num_classes=201), 'wsol_num_classes'),
])
def test_bad_knobs(tmp_path, knobs, match):
    with pytest.raises(ValueError, match=match):
        generate_synthetic_voc(str(tmp_path / 'out'), **knobs)
    assert not osp.exists(tmp_path / 'out')


def test_resolve_knobs_fills_defaults_and_casts():
    cfg = _resolve_knobs(
        dict(num_train=np.int64(3), image_size=[64, 80], noise_std=2))
    assert set(cfg) == set(SYNTHVOC_DEFAULT_KNOBS)
    assert cfg['num_train'] == 3 and type(cfg['num_train']) is int
    assert cfg['image_size'] == (64, 80)
    assert cfg['noise_std'] == 2.0 and type(cfg['noise_std']) is float
    assert cfg['emblem_area'] == SYNTHVOC_DEFAULT_KNOBS['emblem_area']
