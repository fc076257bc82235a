# Copyright (c) mmwsss contributors. All rights reserved.
import hashlib
import json
import os

import numpy as np
import torch
from mmpretrain.structures import DataSample

from mmwsss.evaluation import CAMWriter
from mmwsss.utils import load_npz


def _sample(name, seed):
    rng = np.random.default_rng(seed)
    return dict(
        img_id=name,
        img_path=f'imgs/{name}.jpg',
        cam_keys=torch.tensor([1, 4]),
        cam_strided=torch.from_numpy(rng.random((2, 3, 4), np.float32)),
        cam_high_res=torch.from_numpy(rng.random((2, 9, 13), np.float32)),
        pred_score=torch.rand(5))


def test_write_skip_and_manifest(tmp_path):
    out = str(tmp_path / 'cams')
    writer = CAMWriter(output_dir=out)
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'weights')
    writer.set_run_info('cfg = 1', 'cfg.py', str(ckpt))
    writer.process(None, [_sample('a', 0), _sample('b', 1)])
    bytes_a = open(os.path.join(out, 'a.npz'), 'rb').read()
    # a second run writes only the new item and leaves existing files alone
    writer.process(None, [_sample('a', 99), _sample('c', 2)])
    assert open(os.path.join(out, 'a.npz'), 'rb').read() == bytes_a
    counts = writer.compute_metrics(writer.results)
    assert counts == dict(written=3, skipped=0, failed=0)
    manifest = json.load(open(os.path.join(out, 'manifest.json')))
    assert manifest['files_on_disk'] == 3
    assert manifest['checkpoint_sha256'] == hashlib.sha256(
        b'weights').hexdigest()
    assert manifest['config'] == 'cfg = 1'
    assert sorted(os.listdir(out)) == ['a.npz', 'b.npz', 'c.npz',
                                      'manifest.json']  # no temp files


def test_files_are_plain_deterministic_and_load_back(tmp_path):
    sample = _sample('x', 3)
    paths = []
    for run in range(2):
        writer = CAMWriter(output_dir=str(tmp_path / f'run{run}'))
        writer.process(None, [sample])
        paths.append(writer.output_path(sample))
    assert open(paths[0], 'rb').read() == open(paths[1], 'rb').read()
    arrays = load_npz(paths[0])
    assert arrays['keys'].dtype == np.int64
    assert np.array_equal(arrays['high_res'], sample['cam_high_res'].numpy())
    restored = writer.load_output(DataSample(metainfo=dict(img_id='x')))
    assert torch.equal(restored.cam_strided, sample['cam_strided'])
    assert torch.equal(restored.pred_score, sample['pred_score'])
    assert writer.has_output(dict(img_id='x'))
    assert not writer.has_output(dict(img_id='y'))
