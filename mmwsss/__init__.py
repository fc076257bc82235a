# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss: label-efficient object recognition for OpenMMLab.

Importing the package checks that the installed OpenMMLab codebases are in the
ranges mmwsss is tested with, and registers every component (so that
``custom_imports=dict(imports=['mmwsss'])`` is all a config needs).
"""
from importlib import import_module
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

from mmengine.utils import digit_version

from .version import __version__, version_info

# (distribution or module name, minimum inclusive, maximum exclusive)
_REQUIRED = (
    ('mmcv', '2.1.0', '2.2.0'),
    ('mmengine', '0.10.6', '1.0.0'),
    ('mmpretrain', '1.2.0', '1.3.0'),
    ('mmsegmentation', '1.2.2', '1.3.0'),
    ('mmdet', '3.3.0', '3.4.0'),
)


def _installed(name: str) -> str:
    # mmcv and mmengine are imported anyway; their module version also covers
    # builds whose distribution is named differently (e.g. mmcv-lite).
    if name in ('mmcv', 'mmengine'):
        return import_module(name).__version__
    return installed_version(name)


def _check_versions() -> None:
    for name, low, high in _REQUIRED:
        try:
            installed = _installed(name)
        except (ImportError, PackageNotFoundError):
            raise ImportError(
                f'mmwsss needs {name}>={low},<{high}, which is not installed. '
                'Run `make install` (see README.md).') from None
        if not digit_version(low) <= digit_version(installed) < digit_version(
                high):
            raise ImportError(
                f'{name}=={installed} is installed but mmwsss needs '
                f'{name}>={low},<{high}. Run `make install` (see README.md).')


_check_versions()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .utils import setup_safe_checkpoint_loading  # noqa: E402

# torch>=2.6 loads with weights_only=True: allow-list HistoryBuffer and use a
# local loader that refuses unsafe pickles with a clear error.
setup_safe_checkpoint_loading()

__all__ = ['__version__', 'version_info']
