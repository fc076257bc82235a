# Copyright (c) mmwsss contributors. All rights reserved.
"""Box datasets that never drop an object silently: every malformed box is
an error naming the file and object, or a counted skip."""
import json
import os

import pytest
from PIL import Image

from mmwsss.datasets import ValidatedCocoDataset, ValidatedVOCDataset
from mmwsss.datasets.validated_boxes import check_box

CATEGORIES = [dict(id=1, name='cat'), dict(id=2, name='dog')]


def _coco(tmp_path, annotations, classes=('cat', 'dog'), **kwargs):
    images = [dict(id=1, file_name='a.jpg', height=10, width=20)]
    for i, ann in enumerate(annotations, 1):
        ann.setdefault('id', i)
        ann.setdefault('image_id', 1)
    path = tmp_path / 'instances.json'
    path.write_text(
        json.dumps(
            dict(images=images, annotations=annotations,
                 categories=CATEGORIES)))
    dataset = ValidatedCocoDataset(
        ann_file=str(path),
        data_prefix=dict(img=str(tmp_path)),
        metainfo=dict(classes=classes),
        test_mode=True,
        **kwargs)
    return dataset


def test_check_box():
    assert check_box([1, 2, 5, 6], 10, 20, 'x') == ([1, 2, 5, 6], 'ok')
    assert check_box([-3, 2, 25, 6], 10, 20, 'x') == ([0, 2, 20, 6],
                                                      'clipped')
    assert check_box([5, 2, 5, 6], 10, 20, 'x')[1].endswith('no area')
    assert 'outside' in check_box([30, 2, 40, 6], 10, 20, 'x')[1]
    assert 'finite' in check_box([float('nan'), 2, 4, 6], 10, 20, 'x')[1]


def test_valid_boxes_are_all_kept(tmp_path):
    dataset = _coco(tmp_path, [
        dict(category_id=1, bbox=[1, 1, 4, 4], area=0),  # mmdet drops it
        dict(category_id=2, bbox=[15, 5, 10, 10], area=100),  # clipped
        dict(category_id=1, bbox=[2, 2, 3, 3], area=9, iscrowd=1),
    ])
    instances = dataset.get_data_info(0)['instances']
    assert [i['bbox'] for i in instances] == [[1, 1, 5, 5], [15, 5, 20, 10],
                                              [2, 2, 5, 5]]
    assert [i['bbox_label'] for i in instances] == [0, 1, 0]
    assert [i['ignore_flag'] for i in instances] == [0, 0, 1]
    assert dataset.box_report.as_dict()['counts'] == {
        'clipped to the image': 1
    }


# Malformed COCO and VOC boxes, each an error naming the file and object:
# tests/test_bad_inputs.py.


def test_skip_policy_counts_every_skip(tmp_path):
    dataset = _coco(
        tmp_path, [
            dict(category_id=1, bbox=[5, 5, -2, 3]),
            dict(category_id=2, bbox=[1, 1, 2, 2]),
            dict(category_id=1, bbox=[3, 3, 2, 2]),
        ],
        classes=('cat', ),
        invalid_box='skip')
    assert [i['bbox'] for i in dataset.get_data_info(0)['instances']
            ] == [[3, 3, 5, 5]]
    assert dataset.box_report.as_dict()['counts'] == {
        'skipped: invalid box': 1,
        'skipped: category not in the config classes': 1
    }
    with pytest.raises(ValueError, match='invalid_box must be'):
        _coco(tmp_path, [], invalid_box='ignore')


def _voc(tmp_path, objects):
    root = tmp_path / 'VOC2012'
    os.makedirs(root / 'Annotations')
    os.makedirs(root / 'JPEGImages')
    os.makedirs(root / 'ImageSets' / 'Main')
    (root / 'ImageSets' / 'Main' / 'train.txt').write_text('a\n')
    Image.new('RGB', (20, 10)).save(root / 'JPEGImages' / 'a.jpg')
    body = ''.join(
        f'<object><name>{name}</name><difficult>0</difficult><bndbox>'
        f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for name, (x1, y1, x2, y2) in objects)
    (root / 'Annotations' / 'a.xml').write_text(
        '<annotation><size><width>20</width><height>10</height></size>'
        f'{body}</annotation>')
    return ValidatedVOCDataset(
        data_root=str(tmp_path),
        ann_file='VOC2012/ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root='VOC2012/'),
        test_mode=True)


def test_voc_boxes(tmp_path):
    dataset = _voc(tmp_path, [('cat', (2, 2, 6, 6)), ('dog', (15, 3, 30, 9))])
    assert [i['bbox'] for i in dataset.get_data_info(0)['instances']
            ] == [[1, 1, 5, 5], [14, 2, 20, 8]]
