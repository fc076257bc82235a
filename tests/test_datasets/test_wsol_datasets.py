# Copyright (c) mmwsss contributors. All rights reserved.
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import (CUBWSOLDataset, ImageNetWSOLDataset,
                             WSOLMetadataDataset)
from mmwsss.datasets.transforms import (LoadImageRGB, LoadWSOLMask,
                                        PackWSOLInputs, WSOLResize)
from mmwsss.evaluation.functional import resize_box

CUB10 = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '..',
    'shared', 'data', 'cub10')


def _pipeline(with_mask=False):
    mask = [LoadWSOLMask()] if with_mask else []
    return [LoadImageRGB(), WSOLResize()] + mask + [PackWSOLInputs()]


def _image(path, size_wh, value=100):
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.new('RGB', size_wh, (value, ) * 3).save(path)


def _write(path, lines):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _fake_cub(root, boxes=None, labels=None, classes=None):
    """Four images; classes 1 and 3 of three; ids 2 and 3 are test."""
    paths = [
        '001.A/a_1.jpg', '001.A/a_2.jpg', '003.C/c_1.jpg', '003.C/c_2.jpg'
    ]
    for path in paths:
        _image(osp.join(root, 'images', path), (40, 30))
    _write(
        osp.join(root, 'images.txt'),
        [f'{i + 1} {p}' for i, p in enumerate(paths)])
    _write(
        osp.join(root, 'image_class_labels.txt'), labels
        or ['1 1', '2 1', '3 3', '4 3'])
    _write(
        osp.join(root, 'train_test_split.txt'), ['1 1', '2 0', '3 0', '4 1'])
    _write(
        osp.join(root, 'bounding_boxes.txt'), boxes or [
            '1 0.0 0.0 10.0 10.0', '2 2.0 3.0 20.0 15.0',
            '3 5.5 1.0 30.0 20.0', '4 0.0 0.0 40.0 30.0'
        ])
    _write(
        osp.join(root, 'classes.txt'), classes
        or ['1 001.A', '2 002.B', '3 003.C'])
    return root


def test_cub_layout_labels_boxes_and_classes(tmp_path):
    root = _fake_cub(str(tmp_path / 'cub'))
    test_set = CUBWSOLDataset(root, split='test')
    assert len(test_set) == 2
    assert test_set.metainfo['classes'] == ('001.A', '002.B', '003.C')
    first, second = test_set.get_data_info(0), test_set.get_data_info(1)
    assert first['img_id'] == '001.A/a_2.jpg'
    assert first['img_path'] == osp.join(root, 'images', '001.A/a_2.jpg')
    # x, y, w, h -> x0, y0, x + w, y + h (wsolevaluation's CUB metadata)
    np.testing.assert_array_equal(first['gt_bboxes'], [[2, 3, 22, 18]])
    assert first['gt_bboxes'].dtype == np.float32
    assert (first['gt_label'], second['gt_label']) == (0, 2)
    assert test_set.get_cat_ids(1) == [2]
    assert 'gt_mask_paths' not in first
    assert [info['img_id'] for info in CUBWSOLDataset(root, split='train')
            ] == ['001.A/a_1.jpg', '003.C/c_2.jpg']

    remapped = CUBWSOLDataset(root, split='test', remap_classes=True)
    assert remapped.metainfo['classes'] == ('001.A', '003.C')
    assert remapped.metainfo['cub_class_ids'] == (1, 3)
    assert [remapped.get_data_info(i)['gt_label'] for i in (0, 1)] == [0, 1]

    packed = CUBWSOLDataset(root, split='test', pipeline=_pipeline())[1]
    assert packed['inputs'].shape == (3, 224, 224)
    sample = packed['data_samples']
    assert sample.gt_label.tolist() == [2]
    assert sample.ori_shape == (30, 40)
    # boxes stay in original coordinates (the metric rescales them)
    assert sample.gt_bboxes.tolist() == [[5.5, 1.0, 35.5, 21.0]]


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(boxes=['1 0 0 1 1', '3 0 0 1 1', '4 0 0 1 1']), ValueError,
     r'bounding_boxes.txt has no entry for image ids \[2\]'),
    (dict(boxes=['1 0 0 1 1', '2 0 x 1 1']), ValueError,
     r"bounding_boxes.txt, line 2: 'x' is not a valid float"),
    (dict(boxes=['1 0 0 1']), ValueError,
     r'bounding_boxes.txt, line 1: expected 5 fields'),
    (dict(boxes=['1 0 0 -1 1']), ValueError,
     r'bounding_boxes.txt, line 1: invalid box'),
    (dict(labels=['1 1', '2 7', '3 3', '4 3']), ValueError,
     r'image id 2 has class id 7, which is not in .*classes.txt'),
    (dict(classes=['1 001.A', '3 003.C']), ValueError,
     r'classes.txt: class ids must be 1..K'),
])
def test_cub_errors_name_the_file(tmp_path, kwargs, error, match):
    root = _fake_cub(str(tmp_path / 'cub'), **kwargs)
    with pytest.raises(error, match=match):
        CUBWSOLDataset(root, split='test')


def test_cub_missing_file(tmp_path):
    root = _fake_cub(str(tmp_path / 'cub'))
    os.remove(osp.join(root, 'train_test_split.txt'))
    with pytest.raises(FileNotFoundError, match='train_test_split.txt'):
        CUBWSOLDataset(root)


def test_synthvoc_wsol_boxes_and_masks_agree(tiny_synthvoc):
    root = osp.join(tiny_synthvoc, 'wsol')
    dataset = CUBWSOLDataset(
        root,
        split='test',
        mask_dir='masks',
        pipeline=_pipeline(with_mask=True))
    assert len(dataset) == 2  # 2 classes x 2 images, half of them test
    assert len(dataset.metainfo['classes']) == 2
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        mask = np.asarray(Image.open(info['gt_mask_paths'][0])) > 0
        ys, xs = np.nonzero(mask)
        # SynthVOC's box is the tight box of the mask, x1 = x + w
        np.testing.assert_array_equal(
            info['gt_bboxes'],
            [[xs.min(), ys.min(),
              xs.max() + 1, ys.max() + 1]])
        sample = dataset[i]['data_samples']
        assert sample.ori_shape == mask.shape
        gt_mask = sample.gt_mask.numpy()
        assert gt_mask.shape == (224, 224)
        assert set(np.unique(gt_mask)) == {0, 1}
        # the resized mask's box is the rescaled GT box, up to rounding
        ys, xs = np.nonzero(gt_mask)
        box224 = resize_box(info['gt_bboxes'][0], mask.shape[::-1])
        np.testing.assert_allclose(
            [xs.min(), ys.min(), xs.max(),
             ys.max()], box224, atol=2)


@pytest.mark.skipif(
    not osp.isdir(CUB10),
    reason='../shared/data/cub10 (10-species CUB subset) is not available')
def test_cub10_real_subset():
    test_set = CUBWSOLDataset(CUB10, split='test')
    assert len(test_set) == 243
    assert len(CUBWSOLDataset(CUB10, split='train')) == 300
    assert len(test_set.metainfo['classes']) == 200
    labels = {
        test_set.get_data_info(i)['gt_label']
        for i in range(len(test_set))
    }
    assert labels == set(range(10))
    remapped = CUBWSOLDataset(CUB10, split='test', remap_classes=True)
    assert remapped.metainfo['classes'][9] == '010.Red_winged_Blackbird'
    for i in range(0, len(test_set), 60):
        info = test_set.get_data_info(i)
        with Image.open(info['img_path']) as img:
            w, h = img.size
        box = info['gt_bboxes'][0]
        assert 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h
    # CUB id 1: "60.0 27.0 325.0 304.0" -> wsolevaluation's 60,27,385,331
    first = test_set.get_data_info(0)
    assert first['img_id'].endswith('Black_Footed_Albatross_0046_18.jpg')
    np.testing.assert_array_equal(first['gt_bboxes'], [[60, 27, 385, 331]])


def _xml(objects, size=(500, 375)):
    objs = ''.join(f'<object><name>{wnid}</name><bndbox><xmin>{b[0]}</xmin>'
                   f'<ymin>{b[1]}</ymin><xmax>{b[2]}</xmax><ymax>{b[3]}</ymax>'
                   '</bndbox></object>' for wnid, b in objects)
    return [
        f'<annotation><size><width>{size[0]}</width><height>{size[1]}'
        f'</height><depth>3</depth></size>{objs}</annotation>'
    ]


def _fake_imagenet(root, xml2=None):
    _write(
        osp.join(root, 'LOC_synset_mapping.txt'),
        ['n0001 tench, Tinca tinca', 'n0002 goldfish', 'n0003 shark'])
    _write(
        osp.join(root, 'val_bbox', 'ILSVRC2012_val_00000001.xml'),
        _xml([('n0002', (111, 108, 441, 193))]))
    _write(
        osp.join(root, 'val_bbox', 'ILSVRC2012_val_00000002.xml'),
        xml2 or _xml([('n0003', (45, 49, 499, 162)),
                      ('n0003', (2, 69, 437, 207))], (500, 333)))
    for i, size in ((1, (500, 375)), (2, (500, 333))):
        _image(osp.join(root, 'val', f'ILSVRC2012_val_0000000{i}.JPEG'), size)
    return root


def test_imagenet_xml_boxes_and_synsets(tmp_path):
    root = _fake_imagenet(str(tmp_path / 'ilsvrc'))
    dataset = ImageNetWSOLDataset(root, pipeline=_pipeline())
    assert dataset.metainfo['classes'] == ('tench, Tinca tinca', 'goldfish',
                                           'shark')
    assert dataset.metainfo['wnids'] == ('n0001', 'n0002', 'n0003')
    first, second = dataset.get_data_info(0), dataset.get_data_info(1)
    assert (first['gt_label'], second['gt_label']) == (1, 2)
    assert first['ori_shape'] == (375, 500)
    np.testing.assert_array_equal(second['gt_bboxes'],
                                  [[45, 49, 499, 162], [2, 69, 437, 207]])
    sample = dataset[1]['data_samples']
    assert sample.gt_bboxes.shape == (2, 4)
    assert sample.ori_shape == (333, 500)

    _write(osp.join(root, 'meta', 'val.txt'), ['ILSVRC2012_val_00000002.JPEG'])
    subset = ImageNetWSOLDataset(root, ann_file='meta/val.txt')
    assert [subset.get_data_info(0)['img_id']] == ['ILSVRC2012_val_00000002']


@pytest.mark.parametrize('xml2, match', [
    (_xml([('n0009', (1, 1, 2, 2))]), "synset 'n0009' is not in"),
    (_xml([('n0001', (1, 1, 2, 2)),
           ('n0002', (1, 1, 2, 2))]), 'exactly one synset'),
    (['<annotation><object>'], 'Bad annotation'),
])
def test_imagenet_errors_name_the_file(tmp_path, xml2, match):
    root = _fake_imagenet(str(tmp_path / 'ilsvrc'), xml2)
    with pytest.raises(ValueError, match=match) as error:
        ImageNetWSOLDataset(root)
    assert 'ILSVRC2012_val_00000002.xml' in str(error.value)


def test_metadata_boxes(tmp_path):
    root = str(tmp_path / 'cub')
    meta = osp.join(root, 'metadata', 'test')
    _image(osp.join(root, 'images', 'a', '1.jpg'), (50, 40))
    _image(osp.join(root, 'images', 'b', '2.jpg'), (30, 60))
    _write(osp.join(meta, 'image_ids.txt'), ['a/1.jpg', 'b/2.jpg'])
    _write(osp.join(meta, 'class_labels.txt'), ['a/1.jpg,0', 'b/2.jpg,4'])
    _write(
        osp.join(meta, 'image_sizes.txt'), ['a/1.jpg,50,40', 'b/2.jpg,30,60'])
    _write(
        osp.join(meta, 'localization.txt'),
        ['a/1.jpg,1,2,30,20', 'b/2.jpg,0,0,10,10', 'a/1.jpg,5,5,49,39'])
    dataset = WSOLMetadataDataset(
        root,
        'metadata/test',
        data_prefix=dict(img_path='images'),
        pipeline=_pipeline())
    assert len(dataset.metainfo['classes']) == 5
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(root, 'images', 'a/1.jpg')
    assert info['ori_shape'] == (40, 50)
    np.testing.assert_array_equal(info['gt_bboxes'],
                                  [[1, 2, 30, 20], [5, 5, 49, 39]])
    assert dataset.get_cat_ids(1) == [4]
    assert dataset[1]['data_samples'].ori_shape == (60, 30)

    _write(osp.join(meta, 'class_labels.txt'), ['a/1.jpg,0'])
    with pytest.raises(
            ValueError, match='class_labels.txt has no entry for image b/2'):
        WSOLMetadataDataset(root, 'metadata/test')
    _write(osp.join(meta, 'class_labels.txt'), ['a/1.jpg,0', 'b/2.jpg,1'])
    _write(
        osp.join(meta, 'localization.txt'),
        ['a/1.jpg,1,2,30,20', 'b/2.jpg,m.png,'])
    with pytest.raises(
            ValueError, match='localization.txt, line 2: expected 5 fields'):
        WSOLMetadataDataset(root, 'metadata/test')


def test_metadata_openimages_masks(tmp_path):
    root = str(tmp_path / 'openimages')
    meta = osp.join(root, 'metadata')
    _image(osp.join(root, 'test', 'c', 'x.jpg'), (20, 10))
    masks = {
        'x_m1.png': (slice(0, 5), slice(0, 5)),
        'x_m2.png': (slice(5, 10), slice(15, 20)),
        'x_ignore.png': (slice(0, 10), slice(0, 10)),
    }
    for name, region in masks.items():
        mask = np.zeros((10, 20), np.uint8)
        mask[region] = 255
        Image.fromarray(mask).save(osp.join(root, 'test', 'c', name))
    _write(osp.join(meta, 'image_ids.txt'), ['test/c/x.jpg'])
    _write(osp.join(meta, 'class_labels.txt'), ['test/c/x.jpg,3'])
    _write(
        osp.join(meta, 'localization.txt'), [
            'test/c/x.jpg,test/c/x_m1.png,test/c/x_ignore.png',
            'test/c/x.jpg,test/c/x_m2.png,'
        ])
    dataset = WSOLMetadataDataset(
        root,
        meta,
        pipeline=[
            LoadImageRGB(),
            WSOLResize((10, 20)),
            LoadWSOLMask((10, 20)),
            PackWSOLInputs()
        ])
    info = dataset.get_data_info(0)
    assert info['gt_mask_paths'] == [
        osp.join(root, 'test/c/x_m1.png'),
        osp.join(root, 'test/c/x_m2.png')
    ]
    assert info['ignore_mask_path'] == osp.join(root, 'test/c/x_ignore.png')
    assert 'gt_bboxes' not in info and 'ori_shape' not in info
    sample = dataset[0]['data_samples']
    assert 'gt_bboxes' not in sample
    expected = np.zeros((10, 20), np.uint8)
    expected[:, :10] = 255  # ignored unless foreground
    expected[:5, :5] = 1
    expected[5:, 15:] = 1
    np.testing.assert_array_equal(sample.gt_mask.numpy(), expected)


def test_wsol_resize_and_missing_mask(tmp_path):
    img = np.zeros((30, 60, 3), np.uint8)
    out = WSOLResize()(dict(img=img, gt_bboxes=np.array([[1., 2, 3, 4]])))
    assert out['img'].shape == (224, 224, 3)
    assert out['scale_factor'] == (224 / 60, 224 / 30)
    assert out['gt_bboxes'].tolist() == [[1, 2, 3, 4]]
    missing = str(tmp_path / 'none.png')
    with pytest.raises(FileNotFoundError, match='none.png'):
        LoadWSOLMask()(dict(gt_mask_paths=[missing]))


def test_openimages_layout_builder_reads_back(tiny_synthvoc, tmp_path):
    # mmwsss.testing.layouts.make_openimages_wsol (an every-config fixture):
    # SynthVOC's WSOL images and masks through the wsolevaluation metadata
    from mmwsss.testing.layouts import make_openimages_wsol
    root = make_openimages_wsol(str(tmp_path), tiny_synthvoc)
    prefix = dict(img_path='OpenImages', mask_path='OpenImages')
    cub = {
        split: sorted(d['gt_label'] for d in CUBWSOLDataset(
            osp.join(tiny_synthvoc, 'wsol'), split=split))
        for split in ('train', 'test')
    }
    train = WSOLMetadataDataset(
        root, 'metadata/OpenImages/train', data_prefix=prefix)
    assert sorted(d['gt_label'] for d in train) == cub['train']
    assert 'gt_mask_paths' not in train.get_data_info(0)
    for split in ('val', 'test'):
        dataset = WSOLMetadataDataset(
            root, f'metadata/OpenImages/{split}', data_prefix=prefix)
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert sorted(d['gt_label'] for d in infos) == cub['test']
        assert all(
            len(d['gt_mask_paths']) == 1 and osp.isfile(d['gt_mask_paths'][0])
            for d in infos)
        ignored = [d['ignore_mask_path'] for d in infos]
        assert osp.isfile(ignored[0]) and ignored[1:] == [None] * (
            len(infos) - 1)
