# Copyright (c) mmwsss contributors. All rights reserved.
"""The optional saliency maps of SynthVOC."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets.synthvoc import generate_synthetic_voc
from mmwsss.fileio import read_saliency_map

SMALL = dict(
    num_train=4,
    num_val=2,
    num_ood=1,
    num_classes=3,
    image_size=(64, 96),
    wsol_num_classes=2,
    wsol_images_per_class=2)


def _files(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


@pytest.fixture(scope='module')
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthvoc_sal')
    plain, clean, noisy = (str(root / n) for n in ('plain', 'clean', 'noisy'))
    generate_synthetic_voc(plain, seed=5, **SMALL)
    generate_synthetic_voc(clean, seed=5, saliency=True, **SMALL)
    generate_synthetic_voc(
        noisy,
        seed=5,
        saliency=True,
        saliency_blur=1.5,
        saliency_noise=20.0,
        **SMALL)
    return plain, clean, noisy


def test_saliency_leaves_other_outputs_unchanged(outputs):
    plain, clean, _ = outputs
    first, second = _files(plain), _files(clean)
    extra = sorted(set(second) - set(first))
    ids = [f'sv_train_{i:06d}' for i in range(1, 5)] + [
        f'sv_val_{i:06d}' for i in range(1, 3)
    ]
    assert extra == sorted(f'Saliency/{i}.png' for i in ids)
    differing = [n for n in first if first[n] != second[n]]
    assert differing == ['meta.json']
    with open(osp.join(clean, 'meta.json')) as f:
        meta = json.load(f)
    assert meta.pop('saliency') == dict(blur=0.0, noise=0.0)
    with open(osp.join(plain, 'meta.json')) as f:
        assert json.load(f) == meta


def test_clean_saliency_is_the_object_union(outputs):
    _, clean, _ = outputs
    for name in os.listdir(osp.join(clean, 'Saliency')):
        with Image.open(osp.join(clean, 'SegmentationObject', name)) as img:
            objects = np.asarray(img) > 0
        saliency = read_saliency_map(
            osp.join(clean, 'Saliency', name), objects.shape)
        np.testing.assert_array_equal(saliency, objects.astype(np.float32))


def test_degraded_saliency_is_deterministic(outputs, tmp_path):
    _, clean, noisy = outputs
    name = 'sv_train_000001.png'
    sharp = read_saliency_map(osp.join(clean, 'Saliency', name))
    soft = read_saliency_map(osp.join(noisy, 'Saliency', name))
    assert np.abs(soft - sharp).mean() > 0.02
    # Still mostly agrees with the objects.
    assert ((soft >= 0.5) == (sharp == 1)).mean() > 0.9
    again = str(tmp_path / 'again')
    generate_synthetic_voc(
        again,
        seed=5,
        saliency=True,
        saliency_blur=1.5,
        saliency_noise=20.0,
        **SMALL)
    assert _files(again) == _files(noisy)


def test_saliency_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match='saliency=True'):
        generate_synthetic_voc(str(tmp_path / 'a'), saliency_blur=1.0, **SMALL)
    with pytest.raises(ValueError, match='saliency_noise'):
        generate_synthetic_voc(
            str(tmp_path / 'b'), saliency=True, saliency_noise=-1.0, **SMALL)
