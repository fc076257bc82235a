# Copyright (c) mmwsss contributors. All rights reserved.
import os
import stat

import numpy as np
import pytest

from mmwsss.fileio import (atomic_write, looks_complete, process_umask,
                           save_npz, write_label_map)


@pytest.fixture
def umask():
    """Set the process umask for a test, restored afterwards."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield os.umask
    os.umask(saved)


@pytest.mark.parametrize('mask', [0o022, 0o002, 0o077])
def test_atomic_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    assert process_umask() == mask
    path = str(tmp_path / 'a.bin')
    atomic_write(path, lambda f: f.write(b'x'))
    # what open() would have made, not mkstemp's private 0o600
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    reference = str(tmp_path / 'reference')
    open(reference, 'w').close()
    assert stat.S_IMODE(os.stat(reference).st_mode) == 0o666 & ~mask


def test_looks_complete_catches_truncated_outputs(tmp_path):
    npz, png, js = (str(tmp_path / f'a.{e}') for e in ('npz', 'png', 'json'))
    save_npz(npz, dict(x=np.arange(1000)))
    write_label_map(png, np.arange(64, dtype=np.uint8).reshape(8, 8))
    atomic_write(js, lambda f: f.write(b'{"a": [1, 2]}'))
    for path in (npz, png, js):
        assert looks_complete(path)
        data = open(path, 'rb').read()
        open(path, 'wb').write(data[:len(data) // 2])
        assert not looks_complete(path), path
    empty = str(tmp_path / 'a.bin')
    open(empty, 'wb').close()
    assert not looks_complete(empty)
