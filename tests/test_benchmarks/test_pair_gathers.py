# Copyright (c) mmwsss contributors. All rights reserved.
"""benchmarks/pair_gathers.py: a real IRNet and AffinityNet training step
gives the same weights bit for bit with the pair gathers as gathers and as
the indexing they replaced (no speed is checked)."""
import json
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_gathers_train_as_indexing_does(tmp_path):
    out = tmp_path / 'pair_gathers.json'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'benchmarks', 'pair_gathers.py'), '--stages',
        'train_irnet', 'train_affinitynet', '--threads', '1', '--rounds',
        '1', '--calls', '1', '--train-batch', '2', '--out',
        str(out)
    ], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [row['stage'] for row in report['stages']
            ] == ['train_irnet', 'train_affinitynet']
    for row in report['stages']:
        assert row['identical'], row
        assert row['gather_s'] > 0 and row['indexing_s'] > 0
