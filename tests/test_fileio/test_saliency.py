# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
from PIL import Image

from mmwsss.fileio import read_saliency_map, saliency_path, write_saliency_map


def test_round_trip_and_path(tmp_path):
    saliency = np.array([[0, 51, 255], [255, 0, 102]], np.uint8)
    path = saliency_path(str(tmp_path), dict(img_id='a'))
    assert path == str(tmp_path / 'a.png')
    write_saliency_map(path, saliency)
    read = read_saliency_map(path, (2, 3))
    assert read.dtype == np.float32
    np.testing.assert_allclose(read, saliency / 255., atol=1e-7)


def test_grey_rgb_is_accepted_colour_is_not(tmp_path):
    grey = np.full((2, 2, 3), 128, np.uint8)
    Image.fromarray(grey).save(tmp_path / 'grey.png')
    np.testing.assert_allclose(
        read_saliency_map(str(tmp_path / 'grey.png')), 128 / 255.)
    grey[0, 0, 1] = 0
    Image.fromarray(grey).save(tmp_path / 'colour.png')
    with pytest.raises(ValueError, match='colour'):
        read_saliency_map(str(tmp_path / 'colour.png'))


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        read_saliency_map(str(tmp_path / 'missing.png'))
    write_saliency_map(str(tmp_path / 's.png'), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match='s.png is 2x3'):
        read_saliency_map(str(tmp_path / 's.png'), (3, 2))
    Image.fromarray(np.zeros((2, 2), np.uint16)).save(tmp_path / 'i.png')
    with pytest.raises(ValueError, match='8-bit grey'):
        read_saliency_map(str(tmp_path / 'i.png'))
    with pytest.raises(ValueError, match='uint8'):
        write_saliency_map(str(tmp_path / 'f.png'), np.zeros((2, 2)))
