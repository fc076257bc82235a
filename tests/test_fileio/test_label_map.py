# Copyright (c) mmwsss contributors. All rights reserved.
"""Label PNGs: one palette, one writer, one reader."""
import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import VOC_PALETTE
from mmwsss.evaluation.writers import save_label_png
from mmwsss.fileio import read_label_map, voc_palette, write_label_map


def test_the_voc_palette():
    palette = voc_palette()
    assert palette.shape == (256, 3) and palette.dtype == np.uint8
    assert palette[:3].tolist() == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert palette[255].tolist() == [224, 224, 192]
    assert VOC_PALETTE == palette[:21].tolist()


def test_palette_and_grey_pngs_read_back(tmp_path):
    label = np.array([[0, 1, 2], [255, 20, 0]], np.uint8)
    path = str(tmp_path / 'a.png')
    write_label_map(path, label)
    with Image.open(path) as img:
        assert img.mode == 'P'
        assert np.asarray(img.getpalette(), np.uint8).reshape(
            -1, 3).tolist() == voc_palette().tolist()
    np.testing.assert_array_equal(read_label_map(path, 20), label)
    grey = str(tmp_path / 'grey.png')
    write_label_map(grey, label, palette=False, atomic=False)
    with Image.open(grey) as img:
        assert img.mode == 'L'
    np.testing.assert_array_equal(read_label_map(grey, 20), label)
    # the writers' helper writes the same bytes
    again = str(tmp_path / 'b.png')
    save_label_png(again, label.astype(np.int64))
    assert open(again, 'rb').read() == open(path, 'rb').read()


def test_validation(tmp_path):
    path = str(tmp_path / 'a.png')
    with pytest.raises(ValueError, match=r'a\.png: labels must lie in 0\.\.255'):
        write_label_map(path, np.full((2, 2), 256))
    with pytest.raises(ValueError, match=r'a\.png: a label map is \(H, W\)'):
        write_label_map(path, np.zeros((1, 2, 2), np.uint8))
    write_label_map(path, np.array([[0, 4]], np.uint8))
    with pytest.raises(ValueError, match=r'values \[4\] outside 0\.\.3'):
        read_label_map(path, 3)
    with pytest.raises(FileNotFoundError, match='b.png'):
        read_label_map(str(tmp_path / 'b.png'), 3)
