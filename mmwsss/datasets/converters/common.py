# Copyright (c) mmwsss contributors. All rights reserved.
"""Idempotent, never-silently-overwriting output of the converters."""
import os.path as osp
from collections import Counter
from typing import List

from mmwsss.fileio import atomic_write


class ConversionOutputs:
    """Writes a converter's files: new files atomically, identical existing
    files left alone, differing existing files refused unless ``overwrite``.

    Rerunning a converter is therefore free and safe: it checks what is
    there and writes only what is missing.

    Args:
        overwrite (bool): Replace existing files whose content differs.
            Defaults to False.
    """

    def __init__(self, overwrite: bool = False):
        self.overwrite = overwrite
        self.counts: Counter = Counter()
        self.conflicts: List[str] = []

    def put(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` unless it already holds it.

        A differing file is recorded in :attr:`conflicts` (and left as it
        is) unless ``overwrite``; call :meth:`check` at the end.
        """
        if osp.isfile(path):
            with open(path, 'rb') as f:
                if f.read() == data:
                    self.counts['unchanged'] += 1
                    return
            if not self.overwrite:
                self.conflicts.append(path)
                return
            self.counts['replaced'] += 1
        else:
            self.counts['written'] += 1
        atomic_write(path, lambda f: f.write(data))

    def put_text(self, path: str, text: str) -> None:
        """:meth:`put` for text (UTF-8)."""
        self.put(path, text.encode('utf-8'))

    def check(self, hint: str = '') -> None:
        """Raise if files with other content were found and kept.

        Args:
            hint (str): Why they might differ, for the message.

        Raises:
            FileExistsError: Naming the first conflicting files.
        """
        if not self.conflicts:
            return
        shown = '\n  '.join(self.conflicts[:5])
        more = len(self.conflicts) - 5
        raise FileExistsError(
            f'{len(self.conflicts)} existing file(s) differ from what this '
            f'converter makes and were left untouched:\n  {shown}' +
            (f'\n  ... and {more} more' if more > 0 else '') +
            (f'\n{hint}' if hint else '') +
            '\nRerun with --overwrite to replace them.')

    def summary(self) -> str:
        """One line: how many files were written, unchanged, replaced."""
        return ', '.join(f'{self.counts[k]} {k}'
                         for k in ('written', 'unchanged', 'replaced'))
