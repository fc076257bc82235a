# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest

from mmwsss.functional import cams_to_ir_label, dense_crf_label

DATA = Path(__file__).parents[2] / 'data'


@pytest.fixture(scope='module')
def golden():
    return np.load(DATA / 'irn_cam_to_ir_label_nocrf.npz')


@pytest.mark.parametrize('case', [0, 1, 2])
def test_ir_label_without_crf_matches_reference(golden, case):
    p = f'case{case}_'
    label = cams_to_ir_label(golden[p + 'high_res'], golden[p + 'keys'],
                             float(golden['conf_fg_thres']),
                             float(golden['conf_bg_thres']))
    assert label.dtype == np.uint8
    np.testing.assert_array_equal(label, golden[p + 'ir_label'])


def test_crf_callable_sees_label_maps(golden):
    high_res, keys = golden['case2_high_res'], golden['case2_keys']
    image = golden['case2_image']
    calls = []

    def identity(img, label, n_labels):
        calls.append((img is image, label.min() >= 0, label.max()
                      < n_labels, n_labels))
        return label

    label = cams_to_ir_label(high_res, keys, image=image, crf=identity)
    np.testing.assert_array_equal(label, golden['case2_ir_label'])
    assert calls == [(True, True, True, 4)] * 2
    with pytest.raises(ValueError, match='image'):
        cams_to_ir_label(high_res, keys, crf=identity)


def test_dense_crf_removes_isolated_labels():
    image = np.zeros((24, 32, 3), np.uint8)
    image[:, 16:] = (200, 40, 40)
    clean = np.zeros((24, 32), np.int64)
    clean[:, 16:] = 1
    noisy = clean.copy()
    noisy[5, 5] = noisy[12, 20] = 2
    noisy[18, 25] = 0
    out = dense_crf_label(image, noisy, 3)
    assert out.shape == clean.shape
    np.testing.assert_array_equal(out, clean)
    # the kernel settings are used: without pairwise weight the CRF keeps
    # the unary's labels, isolated ones included
    unary_only = dense_crf_label(
        image, noisy, 3, gaussian_compat=0, bilateral_compat=0)
    np.testing.assert_array_equal(unary_only, noisy)


def test_dense_crf_accepts_read_only_images():
    # arrays from PIL images are read-only; pydensecrf needs a writeable one
    from mmwsss.functional import dense_crf_label
    image = np.zeros((12, 10, 3), np.uint8)
    image[:, 5:] = 200
    image.flags.writeable = False
    label = np.zeros((12, 10), np.int64)
    label[:, 5:] = 1
    assert dense_crf_label(image, label, 2).shape == (12, 10)
