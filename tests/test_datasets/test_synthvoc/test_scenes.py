# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np

from mmwsss.datasets.synthvoc.design import _class_designs
from mmwsss.datasets.synthvoc.knobs import _resolve_knobs
from mmwsss.datasets.synthvoc.scenes import (_Object, _paste, _place, _rng,
                                             _sample_scene)


def _object(full, emblem):
    return _Object(
        label=0,
        y0=0,
        x0=0,
        mask=full,
        extent=1.0,
        area=int(full.sum()),
        emblem_area=int(emblem.sum()),
        truncated=False,
        emblem_parts=[emblem],
        emblem_centres=[(0, 0)],
        emblem_phi=0.0,
        emblem_radius=1.0,
        full=full,
        emblem_full=emblem,
        visible=full.copy(),
        emblem_visible=emblem.copy())


def _box(y0, y1, x0, x1):
    mask = np.zeros((20, 20), bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_paste_clips_at_the_border():
    local = np.ones((3, 3), bool)
    assert np.array_equal(_paste(local, -1, 4, 4, 6), _box(0, 2, 4, 6)[:4, :6])
    assert not _paste(local, 10, 10, 4, 6).any()


def test_rng_streams():
    first = _rng(0, 'train', 1).random()
    assert _rng(0, 'train', 1).random() == first
    assert _rng(0, 'val', 1).random() != first
    assert _rng(0, 'train', 2).random() != first


def test_place_keeps_earlier_emblems_visible():
    objects = [_object(_box(0, 10, 0, 10), _box(0, 4, 0, 4))]
    # Hides half of the body (allowed) but all of the emblem.
    assert not _place(objects, _object(_box(0, 20, 0, 5), _box(0, 2, 0, 2)))
    assert len(objects) == 1 and objects[0].visible.sum() == 100
    assert _place(objects, _object(_box(5, 20, 5, 20), _box(15, 17, 15, 17)))
    assert len(objects) == 2 and objects[0].visible.sum() == 75
    assert objects[0].emblem_visible.sum() == 16


def test_sample_scene_with_given_labels():
    cfg = _resolve_knobs(dict(image_size=(64, 80)))
    designs = _class_designs(['a', 'b'])
    scene = _sample_scene(_rng(0, 'wsol', 1, 0), designs, cfg, labels=[1])
    assert [obj.label for obj in scene.objects] == [1]
    assert scene.image.dtype == np.uint8 and scene.image.shape[2] == 3
    assert 64 <= min(scene.image.shape[:2]) <= max(scene.image.shape[:2]) <= 80
    obj = scene.objects[0]
    assert not (obj.emblem_visible & ~obj.visible).any()
    low, high = cfg['emblem_area']
    assert low <= obj.emblem_area / obj.area <= high
