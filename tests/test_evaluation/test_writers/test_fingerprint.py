# Copyright (c) mmwsss contributors. All rights reserved.
import json
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmwsss.evaluation import BBAMPseudoMaskWriter, CAMWriter
from mmwsss.evaluation.writers import StaleOutputError
from mmwsss.evaluation.writers.fingerprint import (folder_fingerprint,
                                                   job_fingerprint,
                                                   output_config)


def _cfg(tmp_path, cam_dir, **changes):
    cfg = dict(
        model=dict(type='mmwsss.IRLabelGenerator', fg_threshold=0.3),
        test_dataloader=dict(
            batch_size=8,
            num_workers=2,
            dataset=dict(
                data_root='data',
                pipeline=[dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir)])),
        test_cfg=dict(type='mmwsss.ResumableTestLoop'),
        work_dir=str(tmp_path / 'work'),
        launcher='none')
    cfg.update(changes)
    return Config(cfg)


def test_the_fingerprint_ignores_how_the_job_runs(tmp_path):
    cams = tmp_path / 'cams'
    cams.mkdir()
    ckpt = tmp_path / 'a.pth'
    torch.save(dict(state_dict={}), str(ckpt))
    base = job_fingerprint(_cfg(tmp_path, str(cams)), str(ckpt))
    same = _cfg(tmp_path, str(cams), work_dir='elsewhere', launcher='pytorch')
    same.test_dataloader.update(batch_size=1, num_workers=0)
    same.test_cfg.update(stop_on_error=True, allow_failures=True,
                         overwrite=True)
    copy = tmp_path / 'b.pth'
    copy.write_bytes(ckpt.read_bytes())  # same weights, other path
    assert job_fingerprint(same, str(copy)) == base
    other = _cfg(tmp_path, str(cams))
    other.model.fg_threshold = 0.4
    assert job_fingerprint(other, str(ckpt)) != base
    assert base['parts']['inputs'] == {str(cams): folder_fingerprint(
        str(cams))}


def test_an_input_made_by_a_writer_counts_by_its_fingerprint(tmp_path):
    cams = str(tmp_path / 'cams')
    os.makedirs(cams)
    with open(osp.join(cams, 'manifest.json'), 'w') as f:
        json.dump(dict(fingerprint='abc', written_this_run=3), f)
    assert folder_fingerprint(cams) == 'abc'
    # a resumed run rewrites its manifest's counts, not its fingerprint
    with open(osp.join(cams, 'manifest.json'), 'w') as f:
        json.dump(dict(fingerprint='abc', written_this_run=0), f)
    assert folder_fingerprint(cams) == 'abc'


def _job(name):
    return dict(
        parts=dict(
            config_sha256=name,
            checkpoint_sha256=None,
            inputs={},
            mmwsss_version='x'),
        config_text=f'"{name}"')


def test_overwrite_deletes_every_file_the_writer_owns(tmp_path):
    out, semantic = str(tmp_path / 'out'), str(tmp_path / 'sem')
    writer = BBAMPseudoMaskWriter(
        out, fg_ann_file='fg.json', ignore_ann_file='ig.json',
        semantic_dir=semantic)
    writer.set_fingerprint(_job('one'))
    writer.prepare_output_dir()
    os.makedirs(semantic)
    for path in (osp.join(out, 'a.masks.json'), osp.join(semantic, 'a.png'),
                 osp.join(semantic, 'notes.txt')):
        open(path, 'w').write('{}')
    # the same run resumes: nothing deleted
    writer.prepare_output_dir()
    assert os.path.isfile(osp.join(out, 'a.masks.json'))
    writer.set_fingerprint(_job('two'))
    with pytest.raises(StaleOutputError, match=r'config \(model'):
        writer.prepare_output_dir()
    writer.prepare_output_dir(overwrite=True)
    assert sorted(os.listdir(out)) == ['manifest.json']
    assert os.listdir(semantic) == ['notes.txt']
    with open(osp.join(out, 'manifest.json')) as f:
        manifest = json.load(f)
    assert manifest['status'] == 'running'
    assert manifest['fingerprint'] == writer.fingerprint['fingerprint']


def test_the_writer_option_overwrite(tmp_path):
    out = str(tmp_path / 'out')
    os.makedirs(out)
    open(osp.join(out, 'a.npz'), 'w').write('old')
    writer = CAMWriter(out, overwrite=True)
    writer.set_fingerprint(_job('one'))
    writer.prepare_output_dir()
    assert os.listdir(out) == ['manifest.json']
    # save_high_res changes the files, so the fingerprint
    assert CAMWriter(out, save_high_res=False).writer_options() != \
        writer.writer_options()


def test_crf_processes_are_not_part_of_the_outputs():
    # tools/test.py sets them per process layout; a resumed run in another
    # layout computes the same outputs
    for kind in ('mmwsss.BBAM', 'mmwsss.IRLabelGenerator'):
        two, eight = (output_config(
            dict(model=dict(type=kind, num_iters=3, num_workers=n)))
                      for n in (2, 8))
        assert two == eight and two['model'] == dict(type=kind, num_iters=3)
    # elsewhere num_workers may decide the outputs (RIB's loader seeds)
    other = [
        output_config(dict(model=dict(type='mmwsss.Other', num_workers=n)))
        for n in (2, 8)
    ]
    assert other[0] != other[1]


def test_the_loading_place_is_not_part_of_the_outputs():
    # tools/test.py tries main-process loading on few cores: a job resumed
    # on another machine computes the same outputs
    loop = dict(type='mmwsss.ResumableTestLoop')
    assert output_config(dict(test_cfg=dict(loop, loading='fastest'))) == \
        output_config(dict(test_cfg=loop))
