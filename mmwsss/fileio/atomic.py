# Copyright (c) mmwsss contributors. All rights reserved.
"""Atomic, deterministic file writing for batch jobs."""
import io
import json
import os
import os.path as osp
import tempfile
import zipfile
from typing import Callable, Dict, Optional, Sequence

import numpy as np

# A fixed timestamp keeps re-written archives byte-identical.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


# The end of every PNG: the IEND chunk (length 0, type, CRC).
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
_PNG_END = b'\x00\x00\x00\x00IEND\xaeB`\x82'


def process_umask() -> int:
    """The file mode creation mask of this process."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    # Without /proc the mask can only be read by setting it.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def atomic_write(path: str, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write a file atomically: to a temporary file beside it, then rename.

    A job killed mid-write leaves at most a stray ``.tmp`` file, never a
    truncated ``path``, so "the file exists" means "the file is complete".
    The file gets the mode of any new file (``0o666`` less the process
    umask), not the private ``0o600`` of temporary files.

    Args:
        path (str): Destination.
        write (callable): Called with a binary file object to write into.
    """
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=directory, prefix=osp.basename(path) + '.', suffix='.tmp')
    try:
        os.fchmod(fd, 0o666 & ~process_umask())
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


def looks_complete(path: str) -> bool:
    """A cheap check that an existing output file is whole.

    Outputs are written atomically, so a damaged one comes from outside
    (a copy cut short, a full disk under another tool). The check reads
    little: a ``.npz`` must open as a zip archive (its central directory,
    at the end of the file, is read), a ``.png`` must start with the PNG
    signature and end with the ``IEND`` chunk, a ``.json`` must parse
    (records are small); any other file must not be empty. It does not
    decompress the arrays or the image.

    Args:
        path (str): An existing file.

    Returns:
        bool: False if the file is visibly damaged (or unreadable).
    """
    try:
        if path.endswith('.npz'):
            with zipfile.ZipFile(path) as zf:
                return bool(zf.namelist())
        if path.endswith('.png'):
            with open(path, 'rb') as f:
                head = f.read(len(_PNG_SIGNATURE))
                f.seek(0, os.SEEK_END)
                if f.tell() < len(head) + len(_PNG_END):
                    return False
                f.seek(-len(_PNG_END), os.SEEK_END)
                return head == _PNG_SIGNATURE and f.read() == _PNG_END
        if path.endswith('.json'):
            with open(path, 'rb') as f:
                json.loads(f.read())
            return True
        return osp.getsize(path) > 0
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
