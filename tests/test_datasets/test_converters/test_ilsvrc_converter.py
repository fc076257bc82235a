# Copyright (c) mmwsss contributors. All rights reserved.
"""ILSVRC layouts: devkit meta.mat + bbox XMLs, and Kaggle's CSV, into the
layout mmwsss.ImageNetWSOLDataset reads."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from mmwsss.datasets import ImageNetWSOLDataset
from mmwsss.datasets.converters import (box_xml, convert_ilsvrc_wsol,
                                        devkit_synsets)

WNIDS = [f'n{i:08d}' for i in range(1000)]
STEMS = ['ILSVRC2012_val_00000001', 'ILSVRC2012_val_00000002']
BOXES = {
    STEMS[0]: [(WNIDS[7], [1, 2, 10, 8])],
    STEMS[1]: [(WNIDS[999], [0, 0, 5, 5]), (WNIDS[999], [3, 4, 11, 9])]
}


def _meta_mat(path):
    # devkit order: ILSVRC2012_ID, not wnid order; one non-leaf synset
    order = list(reversed(range(1000)))
    records = [(k + 1, WNIDS[i], f'words {i}', 0)
               for k, i in enumerate(order)]
    records.append((1001, 'n99999999', 'an inner node', 3))
    synsets = np.array(
        records,
        dtype=[('ILSVRC2012_ID', 'O'), ('WNID', 'O'), ('words', 'O'),
               ('num_children', 'O')])
    os.makedirs(osp.dirname(path))
    savemat(path, {'synsets': synsets})


def _val_images(folder):
    os.makedirs(folder)
    for stem in STEMS:
        Image.new('RGB', (12, 10)).save(osp.join(folder, stem + '.JPEG'))


def _dataset(root):
    return ImageNetWSOLDataset(data_root=root, lazy_init=False)


def test_devkit_route(tmp_path):
    devkit = tmp_path / 'ILSVRC2012_devkit_t12'
    _meta_mat(str(devkit / 'data' / 'meta.mat'))
    assert devkit_synsets(str(devkit / 'data' / 'meta.mat'))[:2] == [
        (WNIDS[0], 'words 0'), (WNIDS[1], 'words 1')
    ]
    images, boxes = tmp_path / 'ILSVRC2012_img_val', tmp_path / 'bbox'
    _val_images(str(images))
    os.makedirs(boxes)
    for stem, objects in BOXES.items():
        (boxes / (stem + '.xml')).write_text(box_xml(stem, 12, 10, objects))
    out = str(tmp_path / 'imagenet')
    counts = convert_ilsvrc_wsol(
        out,
        devkit=str(devkit),
        val_images=str(images),
        val_boxes=str(boxes),
        progress=False)
    assert counts['synsets'] == 1000 and counts['written'] == 3
    data = list(_dataset(out))
    assert [d['gt_label'] for d in data] == [7, 999]
    np.testing.assert_array_equal(data[1]['gt_bboxes'],
                                  [[0, 0, 5, 5], [3, 4, 11, 9]])
    assert osp.isfile(data[0]['img_path'])
    # rerun: nothing to do; another source: refused
    assert convert_ilsvrc_wsol(
        out, devkit=str(devkit), val_images=str(images),
        val_boxes=str(boxes), progress=False)['unchanged'] == 3
    with pytest.raises(FileExistsError, match='points elsewhere'):
        convert_ilsvrc_wsol(
            out, devkit=str(devkit), val_images=str(boxes),
            val_boxes=str(boxes), progress=False)


def test_kaggle_route_from_csv(tmp_path):
    kaggle = tmp_path / 'kaggle'
    _val_images(str(kaggle / 'ILSVRC' / 'Data' / 'CLS-LOC' / 'val'))
    (kaggle / 'LOC_synset_mapping.txt').write_text(''.join(
        f'{w} name {i}\n' for i, w in enumerate(WNIDS)))
    rows = ['ImageId,PredictionString'] + [
        stem + ',' + ' '.join(
            f'{w} ' + ' '.join(f'{v:g}' for v in box) for w, box in objects)
        for stem, objects in BOXES.items()
    ]
    (kaggle / 'LOC_val_solution.csv').write_text('\n'.join(rows) + '\n')
    out = str(tmp_path / 'imagenet')
    counts = convert_ilsvrc_wsol(out, kaggle=str(kaggle), progress=False)
    assert counts['xml'] == 2
    data = list(_dataset(out))
    assert [d['gt_label'] for d in data] == [7, 999]
    assert data[0]['ori_shape'] == (10, 12)
    assert _dataset(out).metainfo['classes'][7] == 'name 7'

    (kaggle / 'LOC_val_solution.csv').write_text(
        'ImageId,PredictionString\nx,n00000001 1 2\n')
    with pytest.raises(ValueError, match='LOC_val_solution.csv:2'):
        convert_ilsvrc_wsol(
            str(tmp_path / 'other'), kaggle=str(kaggle), progress=False)


def test_needs_one_source(tmp_path):
    with pytest.raises(ValueError, match='either'):
        convert_ilsvrc_wsol(str(tmp_path), progress=False)
