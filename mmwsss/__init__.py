# Copyright (c) mmwsss contributors. All rights reserved.
"""mmwsss: label-efficient object recognition for OpenMMLab.

Importing the package checks that the installed OpenMMLab codebases are in the
ranges mmwsss is tested with, and registers every component (so that
``custom_imports=dict(imports=['mmwsss'])`` is all a config needs).
"""
from importlib.metadata import PackageNotFoundError, version

from mmengine.utils import digit_version

from .version import __version__, version_info

# (distribution name, minimum inclusive, maximum exclusive)
_REQUIRED = (
    ('mmcv', '2.1.0', '2.2.0'),
    ('mmengine', '0.10.6', '1.0.0'),
    ('mmpretrain', '1.2.0', '1.3.0'),
    ('mmsegmentation', '1.2.2', '1.3.0'),
    ('mmdet', '3.3.0', '3.4.0'),
)


def _check_versions() -> None:
    for dist, low, high in _REQUIRED:
        try:
            installed = version(dist)
        except PackageNotFoundError:
            raise ImportError(
                f'mmwsss needs {dist}>={low},<{high}, which is not installed. '
                'Run `make install` (see README.md).') from None
        if not digit_version(low) <= digit_version(installed) < digit_version(
                high):
            raise ImportError(
                f'{dist}=={installed} is installed but mmwsss needs '
                f'{dist}>={low},<{high}. Run `make install` (see README.md).')


_check_versions()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'version_info']
