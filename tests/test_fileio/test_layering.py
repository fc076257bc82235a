# Copyright (c) mmwsss contributors. All rights reserved.
"""Import layering: fileio and structures depend on no other mmwsss
package but utils, models and datasets never on evaluation, and the old
homes of the moved names still work."""
import ast
import glob
import os.path as osp

import pytest

import mmwsss

PACKAGE = osp.dirname(mmwsss.__file__)


def _mmwsss_imports(package):
    """(file, imported module) of every absolute mmwsss import."""
    found = []
    for path in glob.glob(osp.join(PACKAGE, package, '**', '*.py'),
                          recursive=True):
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or '']
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(osp.relpath(path, PACKAGE), name) for name in names
                      if name.startswith('mmwsss.')]
    return found


@pytest.mark.parametrize('package,allowed', [
    ('fileio', ()),
    ('structures', ('mmwsss.utils', )),
])
def test_bottom_packages_import_nothing_above(package, allowed):
    bad = [(f, m) for f, m in _mmwsss_imports(package)
           if not m.startswith(('mmwsss.' + package, ) + allowed)]
    assert not bad


@pytest.mark.parametrize('package', ['models', 'datasets'])
def test_models_and_datasets_do_not_import_evaluation(package):
    bad = [(f, m) for f, m in _mmwsss_imports(package)
           if m.startswith('mmwsss.evaluation')]
    assert not bad


def test_old_homes_still_export_the_moved_names():
    from mmwsss import fileio, functional, structures, utils
    from mmwsss.datasets.synthvoc import voc_palette
    from mmwsss.datasets.voc_wsss import read_label_map
    from mmwsss.evaluation.functional import normalize_scoremap, pxap_gt_mask
    from mmwsss.evaluation.writers import sample_name
    from mmwsss.models.irn import load_cam_file
    from mmwsss.utils.io import atomic_write
    assert utils.atomic_write is atomic_write is fileio.atomic_write
    assert utils.load_npz is fileio.load_npz
    assert utils.save_npz is fileio.save_npz
    assert sample_name is fileio.sample_name
    assert read_label_map is fileio.read_label_map
    assert voc_palette is fileio.voc_palette
    assert load_cam_file is fileio.load_cam_file
    assert normalize_scoremap is functional.normalize_scoremap is (
        structures.normalize_scoremap)
    assert pxap_gt_mask is functional.pxap_gt_mask is structures.pxap_gt_mask
