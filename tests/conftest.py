# Copyright (c) mmwsss contributors. All rights reserved.
"""Shared fixtures of the mmwsss test suite."""
import os
import os.path as osp

import pytest
import torch

from mmwsss.utils.threads import available_cores

# Under pytest-xdist (``make test`` runs two workers) each worker takes its
# share of the cores, so that the workers' OpenMP threads do not
# oversubscribe them.
_XDIST_WORKERS = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
if _XDIST_WORKERS > 1:
    torch.set_num_threads(max(1, available_cores() // _XDIST_WORKERS))

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DATA = osp.join(ROOT, 'tests', 'data')
SHARED = osp.join(osp.dirname(ROOT), 'shared')


@pytest.fixture(scope='session')
def repo_root() -> str:
    """The repository root (where tools/ and configs/ live)."""
    return ROOT


@pytest.fixture(scope='session')
def tiny_synthvoc(tmp_path_factory) -> str:
    """A small SynthVOC tree (8 train / 4 val images, 3 classes)."""
    from mmwsss.datasets.synthetic import generate_synthetic_voc
    root = str(tmp_path_factory.mktemp('synthvoc'))
    generate_synthetic_voc(
        root,
        seed=0,
        num_train=8,
        num_val=4,
        num_ood=2,
        num_classes=3,
        wsol_num_classes=2,
        wsol_images_per_class=2)
    return root


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests, with the reason, where torch sees no CUDA."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device (torch.cuda.'
                            'is_available() is False); run make test-gpu '
                            'on a GPU machine')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_tf32_in_gpu_tests(request):
    """``gpu`` tests compare CUDA with CPU results: TF32 off (docs/gpu.md)."""
    if 'gpu' not in request.keywords:
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    yield
    (torch.backends.cuda.matmul.allow_tf32,
     torch.backends.cudnn.allow_tf32) = saved
