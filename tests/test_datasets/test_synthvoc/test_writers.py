# Copyright (c) mmwsss contributors. All rights reserved.
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from mmwsss.datasets.synthvoc.writers import (_bbox, _prepare_out_dir,
                                              _void_band, _voc_xml)


def test_void_band_runs_inside_outlines_only():
    instances = np.zeros((6, 8), np.uint8)
    instances[1:5, 1:4] = 1
    instances[1:5, 4:7] = 2
    expected = instances > 0
    expected[2:4, 2] = expected[2:4, 5] = False
    assert np.array_equal(_void_band(instances, 1), expected)
    assert np.array_equal(_void_band(instances, 2), instances > 0)
    # The image border is not an outline.
    assert not _void_band(np.ones((4, 4), np.uint8), 1).any()


def test_voc_xml_boxes_are_one_based():
    mask = np.zeros((5, 7), bool)
    mask[1:3, 2:6] = True
    assert _bbox(mask) == (2, 1, 5, 2)
    root = ET.fromstring(
        _voc_xml('x', 5, 7, [
            dict(name='cow', bbox=_bbox(mask), truncated=False, occluded=True)
        ]))
    assert root.find('size/width').text == '7'
    obj = root.find('object')
    assert obj.find('name').text == 'cow'
    assert [obj.find(f'bndbox/{k}').text
            for k in ('xmin', 'ymin', 'xmax', 'ymax')] == ['3', '2', '6', '3']
    assert obj.find('truncated').text == '0'
    assert obj.find('occluded').text == '1'


def test_prepare_out_dir_replaces_only_synthvoc_content(tmp_path):
    root = tmp_path / 'out'
    _prepare_out_dir(str(root), overwrite=False)
    (root / 'meta.json').write_text('{}')
    (root / 'JPEGImages').mkdir()
    (root / 'JPEGImages' / 'sv_train_000001.jpg').write_bytes(b'')
    (root / 'wsol' / 'images').mkdir(parents=True)
    (root / 'ood_list.txt').write_text('OoD/sv_ood_000001.jpg\n')
    (root / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='overwrite'):
        _prepare_out_dir(str(root), overwrite=False)
    _prepare_out_dir(str(root), overwrite=True)
    assert os.listdir(root) == ['notes.txt']
