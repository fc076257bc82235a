# Copyright (c) mmwsss contributors. All rights reserved.
import os
import os.path as osp

import pytest

from mmwsss.datasets import VOCWSSSDataset
from mmwsss.datasets.transforms import LoadCAMFile
from mmwsss.evaluation import CAMWriter
from mmwsss.fileio import (NameCollisionError, UnsafeNameError, cam_path,
                           check_unique_names, sample_file, sample_name)

UNSAFE = ['../../x', '/etc/passwd', 'a/../../b', './a', 'a//b', '', '..',
          'a/', 'a\\..\\b']


@pytest.mark.parametrize('img_id', UNSAFE)
def test_ids_leaving_the_folder_are_refused_by_readers_and_writers(
        tmp_path, img_id):
    sample = dict(img_id=img_id, img_path='x.jpg')
    with pytest.raises(UnsafeNameError, match='Unsafe image id'):
        sample_file(str(tmp_path), sample, '.png')
    with pytest.raises(UnsafeNameError):
        cam_path(str(tmp_path), sample)  # what LoadCAMFile reads
    with pytest.raises(UnsafeNameError):
        LoadCAMFile(str(tmp_path), ('keys', )).transform(dict(sample))
    with pytest.raises(UnsafeNameError):
        CAMWriter(output_dir=str(tmp_path / 'out')).process(None, [sample])
    assert not osp.exists(tmp_path / 'out')


def test_safe_names_keep_sub_folders():
    assert sample_name(dict(img_id='001.Albatross/a_1.jpg')) == \
        '001.Albatross/a_1.jpg'
    assert sample_name(dict(img_id=42)) == '42'
    assert sample_name(dict(img_path='/data/imgs/a.b.jpg')) == 'a.b'


def test_a_split_list_with_a_traversal_id_names_the_file(tiny_synthvoc,
                                                        tmp_path):
    split = tmp_path / 'bad.txt'
    split.write_text('sv_000000\n../../escape\n')
    with pytest.raises(UnsafeNameError) as error:
        VOCWSSSDataset(
            data_root=tiny_synthvoc,
            ann_file=str(split),
            data_prefix=dict(
                img_path='JPEGImages', ann_path='Annotations'),
            label_source='xml')
    assert "'../../escape'" in str(error.value)
    assert f'{split}, line 2' in str(error.value)


def test_two_images_with_one_name_are_refused(tmp_path):
    check_unique_names([('img', 'a/img.jpg'), ('img', 'a/img.jpg')])
    with pytest.raises(NameCollisionError, match="file stem 'img'"):
        check_unique_names([('img', 'a/img.jpg'), ('img', 'b/img.jpg')])
    writer = CAMWriter(output_dir=str(tmp_path))
    sample = dict(
        img_path='a/img.jpg',
        cam_keys=[0],
        cam_strided=[[[0.5]]],
        cam_high_res=[[[0.5]]])
    writer.process(None, [sample])
    with pytest.raises(NameCollisionError, match='a/img.jpg and b/img.jpg'):
        writer.process(None, [dict(sample, img_path='b/img.jpg')])
    assert os.listdir(str(tmp_path)) == ['img.npz']
