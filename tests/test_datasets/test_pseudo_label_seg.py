# Copyright (c) mmwsss contributors. All rights reserved.
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import (VOC_CLASSES, LoadPseudoLabel,
                             PseudoLabelSegDataset)
from mmwsss.evaluation.writers import save_label_png

SPLIT = 'ImageSets/Segmentation/train.txt'
# tiny_synthvoc: background + 3 classes.
NUM_CLASSES = 4


def _ids(root):
    with open(osp.join(root, SPLIT)) as f:
        return f.read().split()


@pytest.fixture
def pseudo_dir(tiny_synthvoc, tmp_path):
    """A copy of the ground truth standing in for a pseudo-mask folder."""
    out = tmp_path / 'pseudo'
    shutil.copytree(osp.join(tiny_synthvoc, 'SegmentationClass'), out)
    return out


def _dataset(root, pseudo_dir, **kwargs):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmwsss.LoadPseudoLabel', num_classes=NUM_CLASSES),
    ]
    return PseudoLabelSegDataset(
        data_root=root,
        ann_file=SPLIT,
        pseudo_mask_dir=str(pseudo_dir),
        pipeline=pipeline,
        **kwargs)


def test_items_pair_images_with_pseudo_masks(tiny_synthvoc, pseudo_dir):
    ids = _ids(tiny_synthvoc)
    dataset = _dataset(tiny_synthvoc, pseudo_dir, check_files=True)
    assert len(dataset) == len(ids)
    # Classes from meta.json with background first; palette includes it.
    classes = dataset.metainfo['classes']
    assert len(classes) == NUM_CLASSES and classes[0] == 'background'
    assert len(dataset.metainfo['palette']) == NUM_CLASSES
    assert dataset.metainfo['label_map'] is None
    item = dataset[0]
    assert item['img_path'] == osp.join(tiny_synthvoc, 'JPEGImages',
                                        ids[0] + '.jpg')
    assert item['seg_map_path'] == str(pseudo_dir / f'{ids[0]}.png')
    expected = np.asarray(Image.open(item['seg_map_path']))
    np.testing.assert_array_equal(item['gt_seg_map'], expected)
    assert item['gt_seg_map'].shape == item['img'].shape[:2]
    assert item['seg_fields'] == ['gt_seg_map']


def test_relative_pseudo_mask_dir_is_relative_to_cwd(tiny_synthvoc,
                                                      pseudo_dir,
                                                      monkeypatch):
    monkeypatch.chdir(pseudo_dir.parent)
    dataset = _dataset(tiny_synthvoc, 'pseudo')
    assert dataset[0]['seg_map_path'].startswith(str(pseudo_dir))


def test_validation_uses_the_real_ground_truth(tiny_synthvoc):
    dataset = PseudoLabelSegDataset(
        data_root=tiny_synthvoc,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        test_mode=True)
    assert dataset[0]['seg_map_path'].startswith(
        osp.join(tiny_synthvoc, 'SegmentationClass'))


def test_voc_classes_without_meta_json(tmp_path):
    (tmp_path / 'JPEGImages').mkdir()
    (tmp_path / 'masks').mkdir()
    Image.new('RGB', (6, 4)).save(tmp_path / 'JPEGImages' / 'a.jpg')
    save_label_png(str(tmp_path / 'masks' / 'a.png'),
                   np.full((4, 6), 20, np.uint8))
    (tmp_path / 'split.txt').write_text('a\n')
    dataset = PseudoLabelSegDataset(
        data_root=str(tmp_path),
        ann_file='split.txt',
        pseudo_mask_dir=str(tmp_path / 'masks'),
        check_files=True)
    assert dataset.metainfo['classes'] == ('background', ) + VOC_CLASSES
    assert len(dataset.metainfo['palette']) == 21


def test_missing_pseudo_masks_are_listed_at_start_up(tiny_synthvoc,
                                                     pseudo_dir):
    ids = _ids(tiny_synthvoc)
    (pseudo_dir / f'{ids[1]}.png').unlink()
    with pytest.raises(FileNotFoundError, match=f'1 of {len(ids)}.*{ids[1]}'):
        _dataset(tiny_synthvoc, pseudo_dir)


def test_missing_pseudo_mask_at_load_time_names_the_file(
        tiny_synthvoc, pseudo_dir):
    dataset = _dataset(tiny_synthvoc, pseudo_dir)
    path = pseudo_dir / f'{_ids(tiny_synthvoc)[0]}.png'
    path.unlink()
    with pytest.raises(FileNotFoundError, match=str(path)):
        dataset.prepare_data(0)


def _corrupt(pseudo_dir, img_id, label):
    save_label_png(str(pseudo_dir / f'{img_id}.png'), label)
    return str(pseudo_dir / f'{img_id}.png')


def test_wrong_size_is_reported(tiny_synthvoc, pseudo_dir):
    img_id = _ids(tiny_synthvoc)[0]
    path = _corrupt(pseudo_dir, img_id, np.zeros((5, 7), np.uint8))
    dataset = _dataset(tiny_synthvoc, pseudo_dir)
    with pytest.raises(ValueError, match=f'{path} is 5x7'):
        dataset.prepare_data(0)
    with pytest.raises(ValueError, match=f'{path} is 5x7'):
        _dataset(tiny_synthvoc, pseudo_dir, check_files=True)


def test_out_of_range_values_are_reported(tiny_synthvoc, pseudo_dir):
    img_id = _ids(tiny_synthvoc)[0]
    with Image.open(pseudo_dir / f'{img_id}.png') as img:
        label = np.array(img)
    label[0, 0] = NUM_CLASSES  # one past the last class
    path = _corrupt(pseudo_dir, img_id, label)
    dataset = _dataset(tiny_synthvoc, pseudo_dir)
    with pytest.raises(ValueError, match=f'{path} has values \\[4\\]'):
        dataset.prepare_data(0)
    with pytest.raises(ValueError, match=f'{path} has values \\[4\\]'):
        _dataset(tiny_synthvoc, pseudo_dir, check_files=True)


def test_load_pseudo_label_arguments():
    assert repr(LoadPseudoLabel(3)) == 'LoadPseudoLabel(num_classes=3)'
    with pytest.raises(ValueError):
        LoadPseudoLabel(0)


def test_invalid_arguments(tiny_synthvoc, pseudo_dir):
    with pytest.raises(ValueError, match='reduce_zero_label'):
        _dataset(tiny_synthvoc, pseudo_dir, reduce_zero_label=True)
    with pytest.raises(ValueError, match='ann_file'):
        PseudoLabelSegDataset(data_root=tiny_synthvoc, ann_file='')
