# Copyright (c) mmwsss contributors. All rights reserved.
"""Writers only write and metrics only score: neither package imports the
other (shared pure functions live in mmwsss.evaluation.functional)."""
import ast
import glob
import os.path as osp

import pytest

import mmwsss.evaluation

EVALUATION = osp.dirname(mmwsss.evaluation.__file__)


def _imported_modules(path: str, package: str):
    """Absolute names of the modules that a file of ``package`` imports."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # level 1 is the package itself, each more its parent
                base = package.rsplit('.', node.level - 1)[0]
                yield f'{base}.{node.module}' if node.module else base
            else:
                yield node.module


@pytest.mark.parametrize('package,other', [('writers', 'metrics'),
                                           ('metrics', 'writers')])
def test_writers_and_metrics_do_not_import_each_other(package, other):
    forbidden = f'mmwsss.evaluation.{other}'
    offending = []
    for path in glob.glob(osp.join(EVALUATION, package, '*.py')):
        for module in _imported_modules(path,
                                        f'mmwsss.evaluation.{package}'):
            if module == forbidden or module.startswith(forbidden + '.'):
                offending.append(f'{osp.basename(path)}: {module}')
    assert not offending, offending
