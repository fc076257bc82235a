# Copyright (c) mmwsss contributors. All rights reserved.
"""FGVC-Aircraft and Stanford Dogs readers on tiny trees in the official
layouts (written here)."""
import os
import os.path as osp

import numpy as np
import pytest
import scipy.io
from PIL import Image

from mmwsss.datasets import FGVCAircraftWSOLDataset, StanfordDogsWSOLDataset
from mmwsss.datasets.transforms import (LoadImageRGB, PackWSOLInputs,
                                        WSOLResize)


def _image(path, size_wh):
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(len(path))
    Image.fromarray(
        rng.integers(0, 255, (size_wh[1], size_wh[0], 3),
                     dtype=np.uint8)).save(path)


def _write(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def fake_aircraft(data, label_lines=None):
    """``fgvc-aircraft-2013b/data`` with 4 images of 3 variants."""
    ids = ['0034309', '0034958', '1025794', '2230084']
    for image_id in ids:
        _image(osp.join(data, 'images', f'{image_id}.jpg'), (60, 40))
    _write(osp.join(data, 'variants.txt'), ['707-320', 'Boeing 717', 'A300B4'])
    _write(osp.join(data, 'families.txt'), ['Boeing 707', 'Airbus A300'])
    _write(
        osp.join(data, 'images_box.txt'), [
            '0034309 1 2 60 20', '0034958 5 5 40 19', '1025794 3 4 50 18',
            '2230084 1 1 59 20'
        ])
    _write(
        osp.join(data, 'images_variant_trainval.txt'), label_lines
        or ['0034309 707-320', '1025794 A300B4'])
    _write(
        osp.join(data, 'images_variant_test.txt'),
        ['0034958 Boeing 717', '2230084 A300B4'])
    _write(
        osp.join(data, 'images_family_test.txt'),
        ['0034958 Boeing 707', '2230084 Airbus A300'])
    return data


def test_aircraft_variants_boxes_and_splits(tmp_path):
    data = fake_aircraft(str(tmp_path / 'fgvc-aircraft-2013b' / 'data'))
    test_set = FGVCAircraftWSOLDataset(data, split='test')
    assert test_set.metainfo['classes'] == ('707-320', 'Boeing 717', 'A300B4')
    info = test_set.get_data_info(0)
    # a class name with a space; the box as written (1-based corners)
    assert info['img_id'] == '0034958' and info['gt_label'] == 1
    assert info['img_path'] == osp.join(data, 'images', '0034958.jpg')
    np.testing.assert_array_equal(info['gt_bboxes'], [[5, 5, 40, 19]])
    assert info['gt_bboxes'].dtype == np.float32
    assert test_set.get_cat_ids(1) == [2]
    train = FGVCAircraftWSOLDataset(data, split='trainval')
    assert [d['gt_label'] for d in train] == [0, 2]
    family = FGVCAircraftWSOLDataset(data, split='test', level='family')
    assert family.metainfo['classes'] == ('Boeing 707', 'Airbus A300')
    assert [family.get_data_info(i)['gt_label'] for i in range(2)] == [0, 1]
    # through the test pipeline: original-pixel boxes, 224 x 224 input
    test_set = FGVCAircraftWSOLDataset(
        data,
        split='test',
        pipeline=[LoadImageRGB(), WSOLResize(), PackWSOLInputs()])
    item = test_set[0]
    assert item['inputs'].shape == (3, 224, 224)
    assert item['data_samples'].ori_shape == (40, 60)
    assert item['data_samples'].gt_bboxes.tolist() == [[5, 5, 40, 19]]


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(split='valtest'), ValueError, 'split must be'),
    (dict(level='model'), ValueError, 'level must be'),
    (dict(split='val'), FileNotFoundError, 'images_variant_val.txt'),
])
def test_aircraft_bad_options(tmp_path, kwargs, error, match):
    data = fake_aircraft(str(tmp_path / 'data'))
    with pytest.raises(error, match=match):
        FGVCAircraftWSOLDataset(data, **kwargs)


def test_aircraft_unknown_class_names_the_line(tmp_path):
    data = fake_aircraft(
        str(tmp_path / 'data'), label_lines=['0034309 707-320', '1025794 A3'])
    with pytest.raises(ValueError, match=r"trainval.txt, line 2: class 'A3'"):
        FGVCAircraftWSOLDataset(data, split='trainval')


def _dog_xml(size_wh, boxes, name='Chihuahua'):
    objects = ''.join(
        f'<object><name>{name}</name><pose>Unspecified</pose><truncated>0'
        f'</truncated><difficult>0</difficult><bndbox><xmin>{b[0]}</xmin>'
        f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax>'
        '</bndbox></object>' for b in boxes)
    return [
        '<annotation><folder>02085620</folder><filename>%PLACEHOLDER%'
        '</filename><source><database>ImageNet database</database></source>'
        f'<size><width>{size_wh[0]}</width><height>{size_wh[1]}</height>'
        f'<depth>3</depth></size><segment>0</segment>{objects}</annotation>'
    ]


DOG_FILES = {
    'n02085620-Chihuahua/n02085620_10074.jpg': ((50, 40), [(2, 3, 30, 35)]),
    'n02085620-Chihuahua/n02085620_5927.jpg': ((40, 40), [(0, 0, 39, 39)]),
    # two dogs in one image
    'n02099601-golden_retriever/n02099601_100.jpg':
    ((60, 30), [(1, 1, 20, 25), (30, 2, 58, 28)]),
}


def _mat_cells(strings):
    cells = np.empty((len(strings), 1), dtype=object)
    for i, s in enumerate(strings):
        cells[i, 0] = np.array([s])
    return cells


def fake_dogs(root, train_labels=(1, 2), in_lists=False):
    for rel_path, (size, boxes) in DOG_FILES.items():
        _image(osp.join(root, 'Images', rel_path), size)
        _write(
            osp.join(root, 'Annotation', osp.splitext(rel_path)[0]),
            _dog_xml(size, boxes))
    os.makedirs(osp.join(root, 'Images', 'n02113978-Mexican_hairless'))
    files = list(DOG_FILES)
    list_dir = osp.join(root, 'lists') if in_lists else root
    os.makedirs(list_dir, exist_ok=True)
    for split, rows, labels in (('train', [0, 2], train_labels),
                                ('test', [1], [1])):
        scipy.io.savemat(
            osp.join(list_dir, f'{split}_list.mat'),
            dict(
                file_list=_mat_cells([files[i] for i in rows]),
                annotation_list=_mat_cells(
                    [osp.splitext(files[i])[0] for i in rows]),
                labels=np.array(labels, dtype=np.float64)[:, None]))
    return root


@pytest.mark.parametrize('in_lists', [False, True])
def test_dogs_mat_lists_xml_boxes_and_classes(tmp_path, in_lists):
    root = fake_dogs(str(tmp_path / 'dogs'), in_lists=in_lists)
    train = StanfordDogsWSOLDataset(root, split='train')
    assert train.metainfo['classes'] == ('Chihuahua', 'golden_retriever',
                                         'Mexican_hairless')
    assert train.metainfo['wnids'] == ('n02085620', 'n02099601', 'n02113978')
    first, second = train.get_data_info(0), train.get_data_info(1)
    assert first['img_path'] == osp.join(
        root, 'Images', 'n02085620-Chihuahua', 'n02085620_10074.jpg')
    assert first['gt_label'] == 0 and first['ori_shape'] == (40, 50)
    np.testing.assert_array_equal(first['gt_bboxes'], [[2, 3, 30, 35]])
    assert second['gt_label'] == 1
    np.testing.assert_array_equal(second['gt_bboxes'],
                                  [[1, 1, 20, 25], [30, 2, 58, 28]])
    test_set = StanfordDogsWSOLDataset(root)
    assert len(test_set) == 1 and test_set.get_data_info(0)['gt_label'] == 0


def test_dogs_text_list_and_errors(tmp_path):
    root = fake_dogs(str(tmp_path / 'dogs'))
    _write(
        osp.join(root, 'my_list.txt'),
        ['n02099601-golden_retriever/n02099601_100.jpg'])
    subset = StanfordDogsWSOLDataset(root, list_file='my_list.txt')
    assert [d['gt_label'] for d in subset] == [1]
    # the official labels must agree with the sorted breed folders
    bad = fake_dogs(str(tmp_path / 'bad'), train_labels=(1, 3))
    with pytest.raises(ValueError, match='has label 3, but its folder is '
                       'class 2'):
        StanfordDogsWSOLDataset(bad, split='train')
    with pytest.raises(FileNotFoundError, match='val_list.mat'):
        StanfordDogsWSOLDataset(root, list_file='val_list.mat')
    os.remove(osp.join(root, 'Annotation', 'n02085620-Chihuahua',
                       'n02085620_5927'))
    with pytest.raises(FileNotFoundError, match='n02085620_5927'):
        StanfordDogsWSOLDataset(root, split='test')


def _synthvoc_wsol(synthvoc):
    """SynthVOC's WSOL set as CUB tables: (label, is_train, x0y0x1y1)."""
    from mmwsss.datasets import CUBWSOLDataset
    return {
        split: [(d['gt_label'], d['gt_bboxes'].tolist())
                for d in CUBWSOLDataset(
                    osp.join(synthvoc, 'wsol'), split=split)]
        for split in ('train', 'test')
    }


def test_layout_builders_read_back(tiny_synthvoc, tmp_path):
    # mmwsss.testing.layouts (the every-config fixtures): the readers see
    # SynthVOC's WSOL images with their labels; the boxes converted
    from mmwsss.testing.layouts import make_fgvc_aircraft, make_stanford_dogs
    expected = _synthvoc_wsol(tiny_synthvoc)
    aircraft = make_fgvc_aircraft(str(tmp_path), tiny_synthvoc)
    dogs = make_stanford_dogs(str(tmp_path), tiny_synthvoc)
    for split, official in (('train', 'trainval'), ('test', 'test')):
        air = FGVCAircraftWSOLDataset(aircraft, split=official)
        assert len(air.metainfo['classes']) == 100
        # 1-based inclusive corners: x0 + 1, y0 + 1, x1, y1
        assert sorted((d['gt_label'], d['gt_bboxes'].tolist())
                      for d in air) == sorted(
                          (label, [[x0 + 1, y0 + 1, x1, y1]])
                          for label, [[x0, y0, x1, y1]] in expected[split])
        dog = StanfordDogsWSOLDataset(dogs, split=split)
        assert len(dog.metainfo['classes']) == 120
        assert sorted((d['gt_label'], d['gt_bboxes'].tolist())
                      for d in dog) == sorted(expected[split])
