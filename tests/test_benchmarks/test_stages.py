# Copyright (c) mmwsss contributors. All rights reserved.
"""benchmarks/stages.py runs one stage at its tiny size and writes its
table as json (a smoke test: no figure is checked against a speed)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

# a subprocess that builds runners, as the tools' tests
pytestmark = pytest.mark.slow

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_stages_benchmark_one_stage(tmp_path):
    out = tmp_path / 'stages.json'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'benchmarks', 'stages.py'), '--quick', '--stages',
        'deeplab', '--threads', '1', '--workers', '0', '--images', '2',
        '--rounds', '2',
        '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # every output lies in the benchmark's work dir (DeepLab's prediction
    # writer says '{work_dir}/predictions')
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        'stages.json', 'work'
    ]
    report = json.loads(out.read_text())
    (result, ) = report['stages']
    assert result['stage'] == 'deeplab' and result['size'] == 'tiny'
    settings = {(row['threads'], row['workers']): row
                for row in result['settings']}
    assert (1, 0) in settings
    assert all(row['images_per_s'] > 0 for row in settings.values())
    # two runs of each setting, the median reported
    assert all(
        len(row['rounds']) == 2 and row['images_per_s'] == sum(row['rounds'])
        / 2 for row in settings.values())
    assert sum(row['default'] for row in settings.values()) == 1
    assert 0 < result['default_over_best'] <= 1
    assert 'deeplab' in proc.stdout
