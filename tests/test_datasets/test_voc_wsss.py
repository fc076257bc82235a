# Copyright (c) mmwsss contributors. All rights reserved.
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import VOC_CLASSES, VOCWSSSDataset
from mmwsss.datasets.transforms import LoadImageRGB, LoadLabelMap

SPLIT = dict(
    img_path='JPEGImages',
    seg_map_path='SegmentationClass',
    ann_path='Annotations')


def _dataset(root, **kwargs):
    kwargs.setdefault('data_prefix', SPLIT)
    return VOCWSSSDataset(
        data_root=root, ann_file='ImageSets/Segmentation/train.txt', **kwargs)


def _copy(root, tmp_path):
    dst = str(tmp_path / 'voc')
    shutil.copytree(root, dst)
    return dst


def test_labels_from_xml_and_seg_agree(tiny_synthvoc):
    by_xml = _dataset(tiny_synthvoc, label_source='xml')
    by_seg = _dataset(tiny_synthvoc, label_source='seg')
    assert len(by_xml) == 8
    assert by_xml.metainfo['classes'] == by_seg.metainfo['classes']
    assert len(by_xml.metainfo['classes']) == 3  # read from meta.json
    for i in range(len(by_xml)):
        xml_info, seg_info = by_xml.get_data_info(i), by_seg.get_data_info(i)
        gt = np.asarray(Image.open(seg_info['seg_map_path']))
        visible = sorted(int(v) - 1 for v in np.unique(gt) if 0 < v < 255)
        assert seg_info['gt_label'] == visible
        # every visible class is annotated in the XML
        assert set(visible) <= set(xml_info['gt_label'])
        assert osp.isfile(xml_info['img_path'])


def test_voc_defaults_without_meta_json(tiny_synthvoc, tmp_path):
    root = _copy(tiny_synthvoc, tmp_path)
    synth = _dataset(root)
    os.remove(osp.join(root, 'meta.json'))
    voc = _dataset(root)
    assert voc.metainfo['classes'] == VOC_CLASSES
    # SynthVOC's first classes borrow VOC names: labels map by name
    for i in range(len(voc)):
        names = [synth.metainfo['classes'][c]
                 for c in synth.get_data_info(i)['gt_label']]
        assert voc.get_data_info(i)['gt_label'] == sorted(
            VOC_CLASSES.index(n) for n in names)
    with open(osp.join(root, 'Annotations', voc[0]['img_id'] + '.xml')) as f:
        xml = f.read()
    with open(osp.join(root, 'Annotations', voc[0]['img_id'] + '.xml'),
              'w') as f:
        f.write(xml.replace('<name>', '<name>x', 1))
    with pytest.raises(ValueError, match='unknown class'):
        _dataset(root)


def test_missing_annotation_names_the_file(tiny_synthvoc, tmp_path):
    root = _copy(tiny_synthvoc, tmp_path)
    first = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read(
    ).split()[0]
    os.remove(osp.join(root, 'Annotations', first + '.xml'))
    with pytest.raises(FileNotFoundError, match=first + '.xml'):
        _dataset(root)


def test_empty_label_set_is_an_error(tiny_synthvoc, tmp_path):
    root = _copy(tiny_synthvoc, tmp_path)
    first = open(osp.join(root, 'ImageSets/Segmentation/train.txt')).read(
    ).split()[0]
    with open(osp.join(root, 'Annotations', first + '.xml'), 'w') as f:
        f.write('<annotation><filename>x.jpg</filename></annotation>')
    with pytest.raises(ValueError, match=f'{first}.*empty label set'):
        _dataset(root)


def test_label_values_out_of_range(tiny_synthvoc, tmp_path):
    root = _copy(tiny_synthvoc, tmp_path)
    dataset = _dataset(root)
    path = dataset.get_data_info(0)['seg_map_path']
    label = np.asarray(Image.open(path)).copy()
    label[0, 0] = 9  # 3 classes: valid values are 0..3 and 255
    Image.fromarray(label).save(path)
    with pytest.raises(ValueError, match=r'values \[9\] outside'):
        LoadLabelMap(num_classes=3)(dict(seg_map_path=path))
    with pytest.raises(ValueError, match=osp.basename(path)):
        _dataset(root, label_source='seg')


def test_unreadable_image_names_the_file(tmp_path):
    path = str(tmp_path / 'broken.jpg')
    with open(path, 'wb') as f:
        f.write(b'not a jpeg at all')
    with pytest.raises(ValueError, match='broken.jpg'):
        LoadImageRGB()(dict(img_path=path))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        LoadImageRGB()(dict(img_path=str(tmp_path / 'missing.jpg')))


def test_bad_arguments(tiny_synthvoc):
    with pytest.raises(ValueError, match='label_source'):
        _dataset(tiny_synthvoc, label_source='png')
    with pytest.raises(ValueError, match='seg_map_path'):
        _dataset(
            tiny_synthvoc,
            label_source='seg',
            data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'))


def test_duplicated_id_in_split_list_is_refused(tiny_synthvoc, tmp_path):
    root = _copy(tiny_synthvoc, tmp_path)
    split = osp.join(root, 'ImageSets/Segmentation/train.txt')
    ids = open(split).read().split()
    with open(split, 'w') as f:
        f.write('\n'.join(ids + [ids[0]]) + '\n')
    with pytest.raises(ValueError,
                       match=rf"train.txt:{len(ids) + 1}: id '{ids[0]}' is "
                       'already listed on line 1'):
        _dataset(root)


def test_label_map_of_another_size_is_refused(tiny_synthvoc, tmp_path):
    """An IR label or mask written for another image (or size) must not be
    cropped together with this image's pixels."""
    root = _copy(tiny_synthvoc, tmp_path)
    info = _dataset(root).get_data_info(0)
    label = np.asarray(Image.open(info['seg_map_path']))
    Image.fromarray(label[:-2]).save(info['seg_map_path'])
    results = LoadImageRGB()(dict(info))
    with pytest.raises(ValueError, match=r'\d+x\d+ \(HxW\) but its image'):
        LoadLabelMap(num_classes=6)(results)
