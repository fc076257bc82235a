# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/analysis/bbam_mcg_synthvoc.py on a few SynthVOC images."""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'bbam_mcg_synthvoc.py')
    spec = importlib.util.spec_from_file_location('bbam_mcg_synthvoc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scores_the_pseudo_masks_with_and_without_mcg(tool, tiny_synthvoc,
                                                      tmp_path, capsys):
    out = str(tmp_path / 'mcg.json')
    results = tool.main(
        [tiny_synthvoc, '--num-images', '3', '--noise', '0.3', '--out', out])
    with open(out) as f:
        assert json.load(f) == results
    assert results['images'] == 3 and results['objects'] >= 3
    rows = results['variants']
    assert list(rows) == [name for name, _ in tool.VARIANTS]
    assert rows['BBAM']['refined_objects'] == 0
    assert rows['BBAM + MCG']['refined_objects'] >= 1
    for row in rows.values():
        assert all(0 <= row[key] <= 100 for key in tool.COLUMNS)
    # proposals that follow the true boundaries can only help here
    assert (rows['BBAM + MCG']['mean_instance_IoU']
            >= rows['BBAM']['mean_instance_IoU'])
    assert '| BBAM + MCG |' in capsys.readouterr().out
