# Copyright (c) mmwsss contributors. All rights reserved.
from mmengine.config import ConfigDict

from mmwsss.datasets.transforms import LoadCAMFile
from mmwsss.utils import type_name


def test_type_name_drops_the_scope():
    assert type_name(dict(type='mmwsss.LoadCAMFile')) == 'LoadCAMFile'
    assert type_name(ConfigDict(type='LoadCAMFile')) == 'LoadCAMFile'


def test_type_name_of_a_class_is_its_name():
    assert type_name(dict(type=LoadCAMFile)) == 'LoadCAMFile'


def test_type_name_without_a_type_is_empty():
    assert type_name(dict(cam_dir='cams')) == ''
    assert type_name(None) == ''
    assert type_name(['mmwsss.LoadCAMFile']) == ''
