# Copyright (c) mmwsss contributors. All rights reserved.
"""Base class of the writer evaluators used by long ``tools/test.py`` jobs."""
import hashlib
import json
import os
import os.path as osp
from abc import abstractmethod
from typing import Any, List, Optional, Sequence

from mmengine.evaluator import BaseMetric

from mmwsss.fileio import atomic_write, sample_file, sample_name
from mmwsss.version import __version__


def file_sha256(path: str) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


class BaseWriter(BaseMetric):
    """A "metric" that writes one output file per item.

    Writers make long jobs (CAMs, pseudo-masks, attribution maps) safe to run
    through ``tools/test.py``:

    - **atomic**: every file is written to a temporary file and renamed;
    - **resumable**: items whose file exists are not written again, and
      :class:`mmwsss.ResumableTestLoop` does not even run the model for them
      (it asks :meth:`has_output` and fills predictions with
      :meth:`load_output`, so metrics evaluated in the same run still see
      every item);
    - **distributed**: each rank writes the items of its shard;
    - **documented**: ``manifest.json`` records the config, the checkpoint
      (path and SHA-256), the counts and the failures of the last run.

    Subclasses set :attr:`suffix` and implement :meth:`write_item` and
    :meth:`load_output`.

    Args:
        output_dir (str): Folder of the output files.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Metric name prefix.
    """

    suffix = '.npz'
    default_prefix = 'writer'

    def __init__(self,
                 output_dir: str,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.output_dir = output_dir
        self.run_info: dict = {}
        self.failures: List[dict] = []

    def output_path(self, sample: Any) -> str:
        """Path of the output file of ``sample``."""
        return sample_file(self.output_dir, sample, self.suffix)

    def has_output(self, sample: Any) -> bool:
        """Whether the output of ``sample`` was already written."""
        return osp.isfile(self.output_path(sample))

    @abstractmethod
    def write_item(self, path: str, sample: dict) -> None:
        """Write the output of one sample (a dict) to ``path`` atomically."""

    @abstractmethod
    def load_output(self, sample: Any) -> Any:
        """Fill the prediction fields of ``sample`` from its output file."""

    def set_run_info(self, config_text: str, config_file: Optional[str],
                     checkpoint: Optional[str]) -> None:
        """Record what produced the outputs, for the manifest."""
        self.run_info = dict(
            config_file=config_file,
            checkpoint=checkpoint,
            checkpoint_sha256=file_sha256(checkpoint)
            if checkpoint and osp.isfile(checkpoint) else None,
            config=config_text)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Write the outputs of a batch, skipping those that exist."""
        for sample in data_samples:
            path = self.output_path(sample)
            written = not osp.isfile(path)
            if written:
                self.write_item(path, sample)
            self.results.append(dict(name=sample_name(sample),
                                     written=written))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write the manifest and return the counts."""
        names = {r['name'] for r in results}
        written = len({r['name'] for r in results if r['written']})
        on_disk = sorted(
            f for f in os.listdir(self.output_dir) if f.endswith(self.suffix)
        ) if osp.isdir(self.output_dir) else []
        manifest = dict(
            writer=type(self).__name__,
            mmwsss_version=__version__,
            output_dir=osp.abspath(self.output_dir),
            items_this_run=len(names),
            written_this_run=written,
            skipped_existing=len(names) - written,
            files_on_disk=len(on_disk),
            failures=self.failures,
            **self.run_info)
        atomic_write(
            osp.join(self.output_dir, 'manifest.json'), lambda f: f.write(
                json.dumps(manifest, indent=2, sort_keys=True).encode()))
        return dict(
            written=written,
            skipped=len(names) - written,
            failed=len(self.failures))
