# Copyright (c) mmwsss contributors. All rights reserved.
"""Atomic, deterministic file writing for batch jobs."""
import io
import os
import os.path as osp
import tempfile
import zipfile
from typing import Callable, Dict, Optional, Sequence

import numpy as np

# A fixed timestamp keeps re-written archives byte-identical.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def atomic_write(path: str, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write a file atomically: to a temporary file beside it, then rename.

    A job killed mid-write leaves at most a stray ``.tmp`` file, never a
    truncated ``path``, so "the file exists" means "the file is complete".

    Args:
        path (str): Destination.
        write (callable): Called with a binary file object to write into.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=osp.basename(path) + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def save_npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """Save arrays as a compressed ``.npz`` atomically and deterministically.

    Unlike ``np.savez_compressed`` the archive members carry a fixed
    timestamp, so the same arrays always give the same bytes. No pickles are
    written (object arrays are refused).

    Args:
        path (str): Destination (``.npz``).
        arrays (dict[str, np.ndarray]): Named arrays.
    """

    def write(f):
        with zipfile.ZipFile(f, 'w', compression=zipfile.ZIP_DEFLATED) as zf:
            for name, value in arrays.items():
                value = np.asanyarray(value)
                if value.dtype == object:
                    raise TypeError(f'{path}: array "{name}" has dtype '
                                    'object; only plain arrays are saved')
                info = zipfile.ZipInfo(name + '.npy', date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                buffer = io.BytesIO()
                np.lib.format.write_array(
                    buffer, value, allow_pickle=False)
                zf.writestr(info, buffer.getvalue())

    atomic_write(path, write)


def load_npz(path: str,
             names: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """Load the arrays of an ``.npz`` file (pickles refused).

    Args:
        path (str): The ``.npz`` file.
        names (Sequence[str], optional): Arrays to load; those the file
            lacks are left out, and the others are not decompressed.
            Defaults to None (every array).

    Returns:
        dict[str, np.ndarray]: The arrays by name.
    """
    with np.load(path, allow_pickle=False) as data:
        if names is None:
            names = data.files
        return {name: data[name] for name in names if name in data.files}
