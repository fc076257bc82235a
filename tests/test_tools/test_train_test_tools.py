# Copyright (c) mmwsss contributors. All rights reserved.
"""End-to-end runs of tools/train.py, tools/test.py and tools/dist_train.sh.

All runs use a tiny mmpretrain config (ResNet-18 with 8 base channels, eight
32x32 images) on CPU.
"""
import os
import pickle

import pytest
import torch

from mmwsss.testing import (free_port, make_tiny_cls_dataset, run_tool,
                            write_tiny_mmpretrain_config)
from mmwsss.utils import safe_torch_load

pytestmark = pytest.mark.slow


def _check(result) -> str:
    """Assert that a tool run succeeded and return its whole output."""
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_cls')
    data_root = make_tiny_cls_dataset(str(root / 'data'))
    return write_tiny_mmpretrain_config(str(root / 'tiny_cls.py'), data_root)


@pytest.fixture(scope='module')
def straight_work_dir(tiny_config, tmp_path_factory):
    """Work dir of 4 iterations trained in one go."""
    work_dir = tmp_path_factory.mktemp('straight')
    _check(run_tool(['tools/train.py', tiny_config, '--work-dir',
                     str(work_dir)]))
    return work_dir


def test_resume_equals_straight_training(tiny_config, straight_work_dir,
                                         tmp_path):
    _check(
        run_tool([
            'tools/train.py', tiny_config, '--work-dir',
            str(tmp_path), '--cfg-options', 'train_cfg.max_iters=2'
        ]))
    assert (tmp_path / 'iter_2.pth').is_file()
    assert not (tmp_path / 'iter_4.pth').exists()

    # A bare --resume picks the latest checkpoint of the work dir.
    output = _check(
        run_tool(['tools/train.py', tiny_config, '--work-dir',
                  str(tmp_path), '--resume']))
    assert 'resumed epoch: 0, iter: 2' in output

    # Both checkpoints load with weights_only=True (HistoryBuffer allowed).
    straight = safe_torch_load(straight_work_dir / 'iter_4.pth')
    resumed = safe_torch_load(tmp_path / 'iter_4.pth')
    assert resumed['meta']['iter'] == straight['meta']['iter'] == 4
    assert straight['state_dict'].keys() == resumed['state_dict'].keys()
    for name, value in straight['state_dict'].items():
        torch.testing.assert_close(
            resumed['state_dict'][name], value, msg=name)
    assert any(not torch.equal(value, resumed['state_dict'][name])
               for name, value in safe_torch_load(
                   tmp_path / 'iter_2.pth')['state_dict'].items()
               if value.is_floating_point())


def test_test_tool_prints_metrics_and_dumps(tiny_config, straight_work_dir,
                                            tmp_path):
    checkpoint = str(straight_work_dir / 'iter_4.pth')
    out = tmp_path / 'preds.pkl'
    show_dir = tmp_path / 'vis'
    output = _check(
        run_tool([
            'tools/test.py', tiny_config, checkpoint, '--work-dir',
            str(tmp_path), '--out',
            str(out), '--show-dir',
            str(show_dir)
        ]))
    assert 'accuracy/top1' in output
    with open(out, 'rb') as file:
        predictions = pickle.load(file)
    assert len(predictions) == 8
    assert {'pred_score', 'gt_label'} <= set(predictions[0])
    # one drawing per image (mmwsss.WSSSVisualizer), named by its stem
    drawings = sorted(os.listdir(show_dir))
    assert len(drawings) == 8 and all(d.endswith('.png') for d in drawings)

    # Flip TTA is synthesised for mmpretrain configs without one.
    output = _check(
        run_tool([
            'tools/test.py', tiny_config, checkpoint, '--work-dir',
            str(tmp_path / 'tta'), '--tta'
        ]))
    assert "type='AverageClsScoreTTA'" in output
    assert 'accuracy/top1' in output


def test_test_tool_refuses_malicious_checkpoint(tiny_config, tmp_path):
    marker = tmp_path / 'pwned'

    class RunsShellCommand:

        def __reduce__(self):
            return os.system, (f'touch {marker}', )

    checkpoint = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=RunsShellCommand()), checkpoint)
    result = run_tool([
        'tools/test.py', tiny_config,
        str(checkpoint), '--work-dir',
        str(tmp_path)
    ])
    assert result.returncode != 0
    assert f'Refused to load checkpoint "{checkpoint}"' in result.stderr
    assert 'posix.system' in result.stderr
    assert not marker.exists()


def test_dist_train_two_cpu_processes(tiny_config, tmp_path):
    output = _check(
        run_tool(
            ['tools/dist_train.sh', tiny_config, '2', '--work-dir',
             str(tmp_path)],
            env=dict(PORT=str(free_port()), OMP_NUM_THREADS='1'),
            program='bash'))
    # mmengine reports the world size as the GPU number.
    assert 'Distributed launcher: pytorch' in output
    assert 'GPU number: 2' in output
    assert 'Iter(train) [4/4]' in output
    checkpoint = safe_torch_load(tmp_path / 'iter_4.pth')
    assert checkpoint['meta']['iter'] == 4
