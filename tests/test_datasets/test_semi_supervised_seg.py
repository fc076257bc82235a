# Copyright (c) mmwsss contributors. All rights reserved.
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import SemiSupervisedSampler, SemiSupervisedSegDataset

SPLIT = 'ImageSets/Segmentation/train.txt'
# tiny_synthvoc: background + 3 classes, 8 training images.
NUM_CLASSES = 4


def _ids(root):
    with open(osp.join(root, SPLIT)) as f:
        return f.read().split()


@pytest.fixture
def pseudo_dir(tiny_synthvoc, tmp_path):
    """Pseudo-masks that differ from the ground truth everywhere (all
    ignored), so that where a label was read from shows."""
    out = tmp_path / 'pseudo'
    out.mkdir()
    for image_id in _ids(tiny_synthvoc):
        gt = Image.open(
            osp.join(tiny_synthvoc, 'SegmentationClass', image_id + '.png'))
        Image.fromarray(np.full(gt.size[::-1], 255, np.uint8)).save(
            out / f'{image_id}.png')
    return out


def _dataset(root, pseudo_dir, **kwargs):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmwsss.LoadPseudoLabel', num_classes=NUM_CLASSES),
        dict(
            type='mmseg.PackSegInputs',
            meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                       'pixel_labelled')),
    ]
    return SemiSupervisedSegDataset(
        data_root=root,
        ann_file=SPLIT,
        pseudo_mask_dir=str(pseudo_dir),
        pipeline=pipeline,
        **kwargs)


def test_a_fraction_is_pixel_labelled_the_rest_reads_pseudo_masks(
        tiny_synthvoc, pseudo_dir):
    dataset = _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)
    assert len(dataset) == 8
    assert len(dataset.labelled_indices) == 2
    assert sorted(dataset.labelled_indices + dataset.weak_indices) == list(
        range(8))
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        item = dataset[index]
        labelled = index in dataset.labelled_indices
        assert info['pixel_labelled'] is labelled
        assert item['data_samples'].metainfo['pixel_labelled'] is labelled
        labels = item['data_samples'].gt_sem_seg.data.numpy()[0]
        if labelled:
            assert osp.dirname(info['seg_map_path']) == osp.join(
                tiny_synthvoc, 'SegmentationClass')
            assert (labels != 255).any()
        else:
            assert osp.dirname(info['seg_map_path']) == str(pseudo_dir)
            assert (labels == 255).all()
    # the draw is fixed by split_seed
    again = _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)
    assert again.labelled_indices == dataset.labelled_indices
    draws = {
        tuple(
            _dataset(
                tiny_synthvoc,
                pseudo_dir,
                labelled_fraction=0.25,
                split_seed=seed).labelled_indices)
        for seed in range(6)
    }
    assert len(draws) > 1


def test_a_list_file_names_the_pixel_labelled_images(tiny_synthvoc,
                                                     pseudo_dir, tmp_path):
    ids = _ids(tiny_synthvoc)
    listed = tmp_path / 'labelled.txt'
    listed.write_text('\n'.join(ids[:3]) + '\n')
    dataset = _dataset(
        tiny_synthvoc, pseudo_dir, labelled_ann_file=str(listed))
    assert dataset.labelled_indices == [0, 1, 2]
    assert dataset.weak_indices == list(range(3, 8))
    listed.write_text('not_an_id\n')
    with pytest.raises(ValueError, match='not in'):
        _dataset(tiny_synthvoc, pseudo_dir, labelled_ann_file=str(listed))


def test_bad_arguments_and_missing_pseudo_masks_fail_early(
        tiny_synthvoc, pseudo_dir):
    with pytest.raises(ValueError, match='exactly one'):
        _dataset(tiny_synthvoc, pseudo_dir)
    with pytest.raises(ValueError, match='labelled_fraction'):
        _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=1.0)
    dataset = _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)
    weak_id = osp.splitext(
        osp.basename(dataset.get_data_info(
            dataset.weak_indices[0])['img_path']))[0]
    (pseudo_dir / f'{weak_id}.png').unlink()
    with pytest.raises(FileNotFoundError, match='1 of 8 label maps'):
        _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)


def _take(sampler, count):
    stream = iter(sampler)
    return [next(stream) for _ in range(count)]


def test_sampler_puts_both_kinds_in_every_batch(tiny_synthvoc, pseudo_dir):
    dataset = _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)
    labelled, weak = set(dataset.labelled_indices), set(dataset.weak_indices)
    sampler = SemiSupervisedSampler(dataset, num_labelled=1, num_weak=2,
                                    seed=0)
    drawn = _take(sampler, 3 * 12)
    for start in range(0, len(drawn), 3):
        assert drawn[start] in labelled
        assert set(drawn[start + 1:start + 3]) <= weak
    # each pool is drawn epoch by epoch: 6 weak indices = one epoch
    weak_drawn = [i for i in drawn if i in weak]
    assert sorted(weak_drawn[:6]) == sorted(weak)
    assert sorted(weak_drawn[6:12]) == sorted(weak)
    assert _take(SemiSupervisedSampler(
        dataset, num_labelled=1, num_weak=2, seed=0), 36) == drawn
    assert len(sampler) == len(dataset)


def test_sampler_splits_each_epoch_between_ranks(tiny_synthvoc, pseudo_dir,
                                                 monkeypatch):
    from mmwsss.datasets import semi_supervised_seg
    dataset = _dataset(tiny_synthvoc, pseudo_dir, labelled_fraction=0.25)
    shares = []
    for rank in range(2):
        monkeypatch.setattr(semi_supervised_seg, 'get_dist_info',
                            lambda rank=rank: (rank, 2))
        shares.append(_take(SemiSupervisedSampler(dataset, seed=3), 6))
    # rank r gets labelled, weak, ... : one labelled epoch (2 images) is
    # shared out, and the first half of the weak epoch
    assert sorted(shares[0][0::2][:1] + shares[1][0::2][:1]) == sorted(
        dataset.labelled_indices)
    weak_firsts = shares[0][1::2] + shares[1][1::2]
    assert sorted(weak_firsts) == sorted(dataset.weak_indices)
    monkeypatch.setattr(semi_supervised_seg, 'get_dist_info',
                        lambda: (0, 4))
    with pytest.raises(ValueError, match='cannot feed 4 ranks'):
        SemiSupervisedSampler(dataset, seed=0)
