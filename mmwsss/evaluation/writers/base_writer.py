# Copyright (c) mmwsss contributors. All rights reserved.
"""Base class of the writer evaluators used by long ``tools/test.py`` jobs."""
import json
import logging
import os
import os.path as osp
from abc import abstractmethod
from typing import Any, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmwsss.fileio import (atomic_write, looks_complete, sample_file,
                           sample_name)
from mmwsss.fileio.naming import UniqueNames
from mmwsss.version import __version__
from .fingerprint import (MANIFEST, describe_difference, file_sha256,
                          read_manifest, writer_fingerprint)

__all__ = ['BaseWriter', 'StaleOutputError', 'file_sha256']


class StaleOutputError(RuntimeError):
    """A writer's folder holds the outputs of another run."""


class BaseWriter(BaseMetric):
    """A "metric" that writes one output file per item.

    Writers make long jobs (CAMs, pseudo-masks, attribution maps) safe to run
    through ``tools/test.py``:

    - **atomic**: every file is written to a temporary file and renamed
      (with the mode of any new file: ``0o666`` less the umask);
    - **resumable**: items whose file exists are not written again, and
      :class:`mmwsss.ResumableTestLoop` does not even run the model for them
      (it asks :meth:`has_output` and fills predictions with
      :meth:`load_output`, so metrics evaluated in the same run still see
      every item). A file that is visibly damaged
      (:func:`mmwsss.fileio.looks_complete`) or does not load is written
      again;
    - **not stale**: the folder's ``manifest.json`` records the fingerprint
      of what produced it (:mod:`.fingerprint`: config, checkpoint hash,
      input folders, version). The loop's :meth:`prepare_output_dir`
      refuses, before any work, a folder that holds files of another
      fingerprint (or files without one), unless ``overwrite`` is set: then
      those files are deleted first. Files of the same fingerprint are
      always resumed, so a killed job rerun with the same command (with or
      without ``overwrite``) finishes;
    - **distributed**: each rank writes the items of its shard;
    - **documented**: ``manifest.json`` records the config, the checkpoint
      (path and SHA-256), the fingerprint, the status (``running``,
      ``finished``, ``stopped``, ``failed``), the counts and the failures
      of the last run;
    - **collision-free**: files are named by
      :func:`mmwsss.fileio.sample_name`, which refuses names that leave the
      folder, and two images of a run with the same name are refused.

    Subclasses set :attr:`suffix` and implement :meth:`write_item` and
    :meth:`load_output`.

    Args:
        output_dir (str): Folder of the output files.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix.
        overwrite (bool): Delete the files of another run found in
            ``output_dir`` instead of refusing them. Defaults to False.
    """

    suffix = '.npz'
    default_prefix = 'writer'

    def __init__(self,
                 output_dir: str,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 overwrite: bool = False):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.output_dir = output_dir
        self.overwrite = overwrite
        self.run_info: dict = {}
        self.fingerprint: Optional[dict] = None
        self.failures: List[dict] = []
        self.status = 'finished'
        # Existing files found damaged this run (written again).
        self.damaged: set = set()
        self._redo: set = set()
        self._names = UniqueNames(f'the outputs of {output_dir}')

    def output_path(self, sample: Any) -> str:
        """Path of the output file of ``sample``."""
        return sample_file(self.output_dir, sample, self.suffix)

    def output_files(self) -> List[str]:
        """The per-image files in :attr:`output_dir`, sorted."""
        found = []
        for root, dirs, files in os.walk(self.output_dir):
            dirs.sort()
            found.extend(
                osp.join(root, name) for name in sorted(files)
                if name.endswith(self.suffix))
        return found

    def owned_files(self) -> List[str]:
        """Every file the writer makes per image (what ``overwrite``
        deletes): :meth:`output_files` unless a writer makes more."""
        return self.output_files()

    def _file_ok(self, path: str) -> bool:
        # Whether ``path`` exists and looks whole; a damaged file is noted
        # (and said once) and counts as missing, so it is written again.
        if path in self._redo or not osp.isfile(path):
            return False
        if looks_complete(path):
            return True
        if path not in self.damaged:
            self.damaged.add(path)
            print_log(
                f'{path} is damaged (truncated or unreadable); it is '
                'written again.',
                logger='current',
                level=logging.WARNING)
        return False

    def has_output(self, sample: Any) -> bool:
        """Whether the output of ``sample`` was already written (and looks
        whole)."""
        return self._file_ok(self.output_path(sample))

    def redo(self, sample: Any, error: Exception) -> None:
        """Have the output of ``sample`` written again: its file looked
        whole but did not load (``error``)."""
        path = self.output_path(sample)
        self._redo.add(path)
        self.damaged.add(path)
        print_log(
            f'{path} does not load ({type(error).__name__}: {error}); it '
            'is written again.',
            logger='current',
            level=logging.WARNING)

    @abstractmethod
    def write_item(self, path: str, sample: dict) -> None:
        """Write the output of one sample (a dict) to ``path`` atomically."""

    @abstractmethod
    def load_output(self, sample: Any) -> Any:
        """Fill the prediction fields of ``sample`` from its output file."""

    def writer_options(self) -> dict:
        """The options of the writer that change its files (part of the
        fingerprint)."""
        return {}

    def set_run_info(self, config_text: str, config_file: Optional[str],
                     checkpoint: Optional[str]) -> None:
        """Record what produced the outputs, for the manifest."""
        self.run_info = dict(
            config_file=config_file,
            checkpoint=checkpoint,
            checkpoint_sha256=file_sha256(checkpoint)
            if checkpoint and osp.isfile(checkpoint) else None,
            config=config_text)

    def set_fingerprint(self, job: dict) -> None:
        """Take the fingerprint of the job
        (:func:`.fingerprint.job_fingerprint`) for this writer."""
        self.fingerprint = writer_fingerprint(job,
                                              type(self).__name__,
                                              self.writer_options())

    def prepare_output_dir(self, overwrite: bool = False) -> None:
        """Check the folder against this run's fingerprint before any work
        and mark it as being written (a ``running`` manifest).

        Call it on one rank, after :meth:`set_fingerprint`.

        Args:
            overwrite (bool): Delete files of another run instead of
                refusing them (also when :attr:`overwrite` is set).

        Raises:
            StaleOutputError: If the folder holds files of another run (or
                files without a fingerprint) and overwrite is off.
        """
        manifest = read_manifest(self.output_dir) or {}
        recorded = manifest.get('fingerprint')
        files = self.owned_files()
        if files and recorded != self.fingerprint['fingerprint']:
            if not (overwrite or self.overwrite):
                raise StaleOutputError(self._stale_message(manifest, files))
            print_log(
                f'Deleting the {len(files)} outputs of another run in '
                f'{self.output_dir} (overwrite).',
                logger='current',
                level=logging.WARNING)
            for path in files:
                os.remove(path)
        self.status = 'running'
        self.write_manifest([])

    def _stale_message(self, manifest: dict, files: List[str]) -> str:
        if manifest.get('fingerprint'):
            what = ('files of another run: ' +
                    '; '.join(describe_difference(manifest, self.fingerprint)))
        else:
            what = ('files without a recorded fingerprint (written by hand '
                    'or by an older mmwsss), which cannot be told apart from '
                    'outputs of another config, checkpoint or input')
        return (f'{self.output_dir} holds {len(files)} {what}. Stopped before '
                'any work, so that old files are not taken for this run\'s. '
                'Write to another folder, or delete its outputs first with '
                'tools/test.py --overwrite (or overwrite=True on '
                f'{type(self).__name__}). Old fingerprint '
                f'{manifest.get("fingerprint")}, this run '
                f'{self.fingerprint["fingerprint"]}.')

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Write the outputs of a batch, skipping those that exist.

        Raises:
            NameCollisionError: If another image of this run has the same
                file name.
        """
        for sample in data_samples:
            name = sample_name(sample)
            self._names.add(name, sample.get('img_path') or name)
            written = not self.has_output(sample)
            if written:
                path = self.output_path(sample)
                self.write_item(path, sample)
                self._redo.discard(path)
            self.results.append(dict(name=name, written=written))

    def write_manifest(self, results: List[dict]) -> None:
        """Write ``manifest.json`` with :attr:`status`, the counts of
        ``results`` and :attr:`failures`."""
        names = {r['name'] for r in results}
        written = len({r['name'] for r in results if r['written']})
        manifest = dict(
            writer=type(self).__name__,
            mmwsss_version=__version__,
            output_dir=osp.abspath(self.output_dir),
            status=self.status,
            items_this_run=len(names),
            written_this_run=written,
            skipped_existing=len(names) - written,
            files_on_disk=len(self.output_files()),
            damaged_rewritten=sorted(
                osp.relpath(p, self.output_dir) for p in self.damaged),
            failures=self.failures,
            **self.run_info)
        if self.fingerprint is not None:
            manifest.update(
                fingerprint=self.fingerprint['fingerprint'],
                fingerprint_parts=self.fingerprint['parts'],
                fingerprint_config=self.fingerprint['config_text'])
        atomic_write(
            osp.join(self.output_dir, MANIFEST), lambda f: f.write(
                json.dumps(manifest, indent=2, sort_keys=True).encode()))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write the manifest and return the counts."""
        self.write_manifest(results)
        names = {r['name'] for r in results}
        written = len({r['name'] for r in results if r['written']})
        return dict(
            written=written,
            skipped=len(names) - written,
            failed=len(self.failures))
