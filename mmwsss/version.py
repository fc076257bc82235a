# Copyright (c) mmwsss contributors. All rights reserved.
"""Version of the mmwsss package."""

__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string like ``'0.1.0rc1'`` into a comparable tuple."""
    parts = []
    for item in version_str.split('.'):
        if item.isdigit():
            parts.append(int(item))
        elif 'rc' in item:
            number, rc = item.split('rc')
            parts.extend([int(number), f'rc{rc}'])
    return tuple(parts)


version_info = parse_version_info(__version__)
