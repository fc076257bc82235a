# Copyright (c) mmwsss contributors. All rights reserved.
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import Runner

from mmwsss.engine.runner import AllBatchesFailedError
from mmwsss.testing import (make_tiny_cls_dataset, run_tool,
                            write_tiny_mmpretrain_config)


@pytest.fixture
def runner(tmp_path):
    data = make_tiny_cls_dataset(str(tmp_path / 'data'), per_class=2)
    cfg = Config.fromfile(
        write_tiny_mmpretrain_config(str(tmp_path / 'cfg.py'), data))
    cfg.custom_imports = dict(imports=['mmwsss'])
    cfg.test_cfg = dict(type='mmwsss.ResumableTestLoop')
    cfg.test_evaluator = [
        dict(type='mmwsss.CAMWriter', output_dir=str(tmp_path / 'cams')),
        dict(type='Accuracy', topk=(1, ))
    ]
    cfg.work_dir = str(tmp_path / 'work')
    cfg.experiment_name = tmp_path.name
    return Runner.from_cfg(cfg)


def _fail_batches(runner, failing):
    predict = runner.model.test_step
    calls = iter(range(100))

    def test_step(data):
        if next(calls) in failing:
            raise RuntimeError('boom on this batch')
        return predict(data)

    runner.model.test_step = test_step


def test_every_batch_failed_is_said_plainly(runner, tmp_path):
    _fail_batches(runner, failing=range(100))
    with pytest.raises(AllBatchesFailedError) as error:
        runner.test()
    message = str(error.value)
    manifest = osp.join(str(tmp_path / 'cams'), 'manifest.json')
    assert 'All 2 batches of this job failed' in message
    assert 'RuntimeError: boom on this batch' in message
    assert 'batch 0 on rank 0' in message and manifest in message
    failures = json.load(open(manifest))['failures']
    assert [f['batch'] for f in failures] == [0, 1]


def test_some_batches_failed_warns_and_scores_the_rest(runner, tmp_path):
    _fail_batches(runner, failing={0})
    # the CAM writer has nothing to write for plain classification outputs
    runner.test_evaluator.metrics.pop(0)
    runner.test_loop.writers = []
    metrics = runner.test()
    assert 'accuracy/top1' in metrics
    log = open(runner.logger.log_file).read()
    assert '1 of 2 batches failed and were skipped' in log
    assert 'boom on this batch' in log


@pytest.mark.slow
def test_tools_test_exits_1_with_the_message(tmp_path):
    """tools/test.py: a job whose every batch fails (plain classification
    outputs have no CAMs for the CAM writer) exits 1 and says why."""
    data = make_tiny_cls_dataset(str(tmp_path / 'data'), per_class=2)
    config = write_tiny_mmpretrain_config(str(tmp_path / 'cfg.py'), data)
    with open(config, 'a') as f:
        f.write("custom_imports = dict(imports=['mmwsss'])\n"
                "test_cfg = dict(type='mmwsss.ResumableTestLoop')\n"
                f"test_evaluator = [dict(type='mmwsss.CAMWriter', "
                f"output_dir='{tmp_path / 'cams'}')]\n")
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    proc = run_tool([
        'tools/test.py', config, checkpoint, '--work-dir',
        str(tmp_path / 'work')
    ])
    assert proc.returncode == 1
    output = proc.stdout + proc.stderr
    assert 'All 2 batches of this job failed' in output
    assert "KeyError: 'cam_keys'" in output
    assert osp.isfile(tmp_path / 'cams' / 'manifest.json')
