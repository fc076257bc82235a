# Copyright (c) mmwsss contributors. All rights reserved.
"""DisplacementMeanShiftHook checks its dataloader before training, not
after the last epoch."""
from types import SimpleNamespace

import pytest
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmwsss.engine.hooks import DisplacementMeanShiftHook


def _runner():
    return SimpleNamespace(build_dataloader=Runner.build_dataloader, seed=0)


def _loader(data_root, batch_size=1):
    return dict(
        batch_size=batch_size,
        num_workers=0,
        drop_last=True,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            type='mmwsss.VOCWSSSDataset',
            data_root=data_root,
            ann_file='ImageSets/Segmentation/train.txt',
            data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
            label_source='xml',
            pipeline=[]))


def test_a_wrong_root_fails_before_training(tmp_path):
    hook = DisplacementMeanShiftHook(_loader(str(tmp_path / 'nowhere')))
    with pytest.raises(FileNotFoundError):
        hook.before_train(_runner())


def test_fewer_images_than_a_batch_fail_before_training(tmp_path):
    split = tmp_path / 'ImageSets' / 'Segmentation'
    split.mkdir(parents=True)
    (split / 'train.txt').write_text('a\nb\n')
    (tmp_path / 'Annotations').mkdir()
    for name in 'ab':
        (tmp_path / 'Annotations' / f'{name}.xml').write_text(
            '<annotation><object><name>cat</name></object></annotation>')
    hook = DisplacementMeanShiftHook(_loader(str(tmp_path), batch_size=3))
    with pytest.raises(ValueError, match='no batch'):
        hook.before_train(_runner())
    hook = DisplacementMeanShiftHook(_loader(str(tmp_path), batch_size=2))
    hook.before_train(_runner())
    assert len(hook.dataloader) == 1
