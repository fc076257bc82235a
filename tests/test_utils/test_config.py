# Copyright (c) mmwsss contributors. All rights reserved.
import copy
from unittest import mock

import mmengine.config.config as mmengine_config
from mmengine.config import Config, ConfigDict

from mmwsss.datasets.transforms import LoadCAMFile
from mmwsss.utils import FormatOnceConfig, type_name


def test_type_name_drops_the_scope():
    assert type_name(dict(type='mmwsss.LoadCAMFile')) == 'LoadCAMFile'
    assert type_name(ConfigDict(type='LoadCAMFile')) == 'LoadCAMFile'


def test_type_name_of_a_class_is_its_name():
    assert type_name(dict(type=LoadCAMFile)) == 'LoadCAMFile'


def test_type_name_without_a_type_is_empty():
    assert type_name(dict(cam_dir='cams')) == ''
    assert type_name(None) == ''
    assert type_name(['mmwsss.LoadCAMFile']) == ''


def _yapf_calls():
    return mock.patch.object(
        mmengine_config, 'FormatCode', wraps=mmengine_config.FormatCode)


def test_format_once_config_formats_as_mmengine_once_per_content():
    cfg = Config(dict(model=dict(type='Net', depth=18), work_dir='w'))
    expected = cfg.pretty_text
    once = FormatOnceConfig.of(cfg)
    with _yapf_calls() as format_code:
        assert once.pretty_text == expected
        assert once.pretty_text == expected
        assert copy.deepcopy(once).pretty_text == expected
        assert format_code.call_count == 1
        # a changed config is formatted anew
        once.model.depth = 50
        assert once.pretty_text == Config(
            dict(model=dict(type='Net', depth=50), work_dir='w')).pretty_text
        assert format_code.call_count == 3  # ours and the expected one's
    assert type(copy.deepcopy(once)) is FormatOnceConfig
    assert once.filename == cfg.filename


def test_format_once_config_without_formatting_stays_unformatted():
    cfg = Config(dict(a=[1, 2]), format_python_code=False)
    with _yapf_calls() as format_code:
        assert FormatOnceConfig.of(cfg).pretty_text == cfg.pretty_text
        assert format_code.call_count == 0
