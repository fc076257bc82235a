# Copyright (c) mmwsss contributors. All rights reserved.
"""VOC + SBD converters on tiny inputs in the distributed formats: SBD
``.mat`` files (MATLAB structs), VOC palette PNGs, mmseg's converter
output."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO
from scipy.io import savemat

from mmwsss.datasets import VOCWSSSDataset
from mmwsss.datasets.converters import (convert_voc_aug,
                                        convert_voc_instances, read_sbd_mask)
from mmwsss.fileio import read_label_map, voc_palette

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
H, W = 12, 16


def _mask(value, box):
    mask = np.zeros((H, W), np.uint8)
    y0, y1, x0, x1 = box
    mask[y0:y1, x0:x1] = value
    return mask


def _palette_png(path, label):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(label)
    img.putpalette(voc_palette(256).tobytes())
    img.save(path)


def _lines(path, ids):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(''.join(i + '\n' for i in ids))


# VOC annotates a (train) and c (val); SBD has a, b (train) and c, d (val).
VOC_MASKS = dict(a=_mask(15, (2, 8, 3, 9)), c=_mask(7, (0, 5, 0, 5)))
SBD_MASKS = dict(
    a=_mask(15, (2, 9, 3, 10)),  # SBD's own outline of a differs
    b=_mask(12, (4, 10, 4, 12)),
    c=_mask(7, (0, 6, 0, 6)),
    d=_mask(1, (1, 3, 1, 3)))


def _voc(tmp_path):
    voc = tmp_path / 'VOCdevkit' / 'VOC2012'
    _lines(str(voc / 'ImageSets/Segmentation/train.txt'), ['a'])
    _lines(str(voc / 'ImageSets/Segmentation/val.txt'), ['c'])
    for img_id, label in VOC_MASKS.items():
        _palette_png(str(voc / 'SegmentationClass' / f'{img_id}.png'), label)
    for img_id in 'abcd':
        os.makedirs(voc / 'JPEGImages', exist_ok=True)
        Image.new('RGB', (W, H)).save(voc / 'JPEGImages' / f'{img_id}.jpg')
    return str(voc)


def _sbd(tmp_path):
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    os.makedirs(sbd / 'cls')
    for img_id, label in SBD_MASKS.items():
        savemat(
            str(sbd / 'cls' / f'{img_id}.mat'), {
                'GTcls': {
                    'Segmentation': label,
                    'CategoriesPresent': np.unique(label[label > 0])
                }
            })
    _lines(str(sbd / 'train.txt'), ['a', 'b'])
    _lines(str(sbd / 'val.txt'), ['c', 'd'])
    return str(sbd)


def _aug(voc, img_id):
    return read_label_map(
        osp.join(voc, 'SegmentationClassAug', img_id + '.png'), 20)


def test_read_sbd_mask(tmp_path):
    sbd = _sbd(tmp_path)
    np.testing.assert_array_equal(
        read_sbd_mask(osp.join(sbd, 'cls', 'b.mat')), SBD_MASKS['b'])
    bad = str(tmp_path / 'bad.mat')
    savemat(bad, {'other': np.zeros(3)})
    with pytest.raises(ValueError, match='bad.mat'):
        read_sbd_mask(bad)


def test_voc_aug_from_sbd(tmp_path):
    voc, sbd = _voc(tmp_path), _sbd(tmp_path)
    counts = convert_voc_aug(voc, sbd, progress=False)
    assert counts['train_aug'] == 3 and counts['written'] == 5
    with open(osp.join(voc, 'ImageSets/Segmentation/train_aug.txt')) as f:
        assert f.read().split() == ['a', 'b', 'd']
    # VOC's own masks win; SBD fills the rest
    for img_id in 'ac':
        np.testing.assert_array_equal(_aug(voc, img_id), VOC_MASKS[img_id])
    for img_id in 'bd':
        np.testing.assert_array_equal(_aug(voc, img_id), SBD_MASKS[img_id])
    # a rerun writes nothing
    assert convert_voc_aug(voc, sbd, progress=False)['unchanged'] == 5

    dataset = VOCWSSSDataset(
        data_root=voc,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        label_source='seg',
        lazy_init=False)
    assert [d['gt_label'] for d in dataset] == [[14], [11], [0]]


def test_voc_aug_refuses_to_overwrite_silently(tmp_path):
    voc, sbd = _voc(tmp_path), _sbd(tmp_path)
    convert_voc_aug(voc, sbd, progress=False)
    changed = osp.join(voc, 'SegmentationClassAug', 'b.png')
    _palette_png(changed, SBD_MASKS['d'])
    with pytest.raises(FileExistsError, match='b.png'):
        convert_voc_aug(voc, sbd, progress=False)
    np.testing.assert_array_equal(_aug(voc, 'b'), SBD_MASKS['d'])
    assert convert_voc_aug(
        voc, sbd, overwrite=True, progress=False)['replaced'] == 1
    np.testing.assert_array_equal(_aug(voc, 'b'), SBD_MASKS['b'])


def test_voc_aug_completes_mmseg_output(tmp_path):
    """mmseg's voc_aug.py writes grey PNGs of SBD's masks only and lists
    them in aug.txt/trainaug.txt; VOC images outside SBD get no mask."""
    voc = _voc(tmp_path)
    sbd_only = dict(b=SBD_MASKS['b'], d=SBD_MASKS['d'], a=VOC_MASKS['a'])
    for img_id, label in sbd_only.items():
        os.makedirs(osp.join(voc, 'SegmentationClassAug'), exist_ok=True)
        Image.fromarray(label).save(
            osp.join(voc, 'SegmentationClassAug', img_id + '.png'))
    _lines(osp.join(voc, 'ImageSets/Segmentation/trainaug.txt'),
           ['a', 'b', 'd'])
    counts = convert_voc_aug(voc, progress=False)
    # a, b, d kept (same labels, grey PNGs); c added from VOC
    assert counts['unchanged'] == 3 and counts['written'] == 2
    np.testing.assert_array_equal(_aug(voc, 'c'), VOC_MASKS['c'])
    # an SBD outline where VOC has its own mask is reported
    Image.fromarray(SBD_MASKS['a']).save(
        osp.join(voc, 'SegmentationClassAug', 'a.png'))
    with pytest.raises(FileExistsError, match="VOC's own masks"):
        convert_voc_aug(voc, progress=False)


def test_voc_aug_without_sources_names_them(tmp_path):
    voc = _voc(tmp_path)
    with pytest.raises(FileNotFoundError, match='sbd-root'):
        convert_voc_aug(voc, progress=False)


def _instances(voc):
    objects = np.zeros((H, W), np.uint8)
    objects[2:8, 3:9] = 1
    objects[8:11, 10:15] = 2
    objects[1, 3:9] = 255
    classes = np.zeros((H, W), np.uint8)
    classes[objects == 1] = 15
    classes[objects == 2] = 12
    classes[objects == 255] = 255
    _palette_png(osp.join(voc, 'SegmentationObject', 'a.png'), objects)
    _palette_png(osp.join(voc, 'SegmentationClass', 'a.png'), classes)
    return objects, classes


def test_voc_instances_json(tmp_path):
    voc = _voc(tmp_path)
    _instances(voc)
    _palette_png(osp.join(voc, 'SegmentationObject', 'c.png'),
                 (VOC_MASKS['c'] > 0).astype(np.uint8))
    counts = convert_voc_instances(voc, 'train', progress=False)
    assert counts == dict(images=1, instances=2)
    coco = COCO(osp.join(voc, 'annotations', 'instances_train2012.json'))
    assert coco.loadCats(15)[0]['name'] == 'person'
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [a['category_id'] for a in anns] == [15, 12]
    assert anns[0]['bbox'] == [3.0, 2.0, 6.0, 6.0]
    assert anns[1]['area'] == 15
    np.testing.assert_array_equal(coco.annToMask(anns[1]),
                                  np.pad(np.ones((3, 5)), ((8, 1), (10, 1))))
    assert coco.loadImgs(1)[0]['file_name'] == 'a.jpg'
    assert convert_voc_instances(voc, 'val', progress=False)['images'] == 1


def test_voc_instances_refuse_mixed_instance(tmp_path):
    voc = _voc(tmp_path)
    objects, classes = _instances(voc)
    classes[2, 3] = 7
    _palette_png(osp.join(voc, 'SegmentationClass', 'a.png'), classes)
    with pytest.raises(ValueError, match=r'a.png: instance 1 covers'):
        convert_voc_instances(voc, 'train', progress=False)


def test_command_lines(tmp_path):
    voc, sbd = _voc(tmp_path), _sbd(tmp_path)
    _instances(voc)
    env = dict(os.environ, PYTHONPATH=ROOT)
    for args in (['voc_aug.py', voc, '--sbd-root', sbd],
                 ['voc_instances.py', voc, '--splits', 'train']):
        out = subprocess.run(
            [sys.executable,
             osp.join(ROOT, 'tools', 'dataset_converters', args[0])] +
            args[1:],
            capture_output=True,
            text=True,
            env=env)
        assert out.returncode == 0, out.stderr
    assert 'train_aug: 3 images' in subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'dataset_converters', 'voc_aug.py'), voc,
         '--sbd-root', sbd],
        capture_output=True, text=True, env=env).stdout
    with open(osp.join(voc, 'annotations', 'instances_train2012.json')) as f:
        assert len(json.load(f)['annotations']) == 2
