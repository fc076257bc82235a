# Copyright (c) mmwsss contributors. All rights reserved.
"""The structural JPEG check (mmwsss.fileio.jpeg_damage): intact files of
every kind pass, damage that decoders pass over is found."""
import glob
import io
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.fileio import jpeg_damage

PHOTOS = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__))))), 'shared', 'data')


def _encode(pixels, **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, 'JPEG', **kwargs)
    return buffer.getvalue()


def _noise(size=(96, 128)):
    rng = np.random.default_rng(0)
    return (rng.random((*size, 3)) * 255).astype(np.uint8)


def test_real_photos_pass():
    files = sorted(glob.glob(osp.join(PHOTOS, '**', '*.jpg'),
                             recursive=True))
    if not files:
        pytest.skip(f'no photos under {PHOTOS}')
    damaged = {f: jpeg_damage(open(f, 'rb').read()) for f in files}
    assert not {f: d for f, d in damaged.items() if d}


@pytest.mark.parametrize('kwargs', [
    dict(), dict(quality=100, subsampling=0), dict(progressive=True),
    dict(optimize=True), dict(restart_marker_blocks=4)
])
def test_encodings_pass_also_flat_images(kwargs):
    assert jpeg_damage(_encode(_noise(), **kwargs)) is None
    # flat areas code to long zero runs with optimised or progressive codes
    flat = np.zeros((400, 400, 3), np.uint8)
    assert jpeg_damage(_encode(flat, **kwargs)) is None


def test_not_a_jpeg_is_left_alone():
    assert jpeg_damage(b'\x89PNG\r\n\x1a\n') is None


def test_damage():
    data = _encode(_noise())
    middle = len(data) // 2
    assert jpeg_damage(data[:middle]).startswith('truncated')
    assert jpeg_damage(data[:middle] + bytes(600) +
                       data[middle + 600:]).startswith('600 zero bytes')
    stray = data[:middle] + b'\xff\x05' + data[middle + 2:]
    assert jpeg_damage(stray).startswith('invalid marker 0xFF05')
    restarts = _encode(_noise(), restart_marker_blocks=1)
    first = restarts.index(b'\xff\xd0')
    swapped = (restarts[:first] + b'\xff\xd1' + restarts[first + 2:])
    assert jpeg_damage(swapped) == ('restart markers out of order in the '
                                    'compressed data')
