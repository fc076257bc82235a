# Copyright (c) mmwsss contributors. All rights reserved.
"""Base of the writers of per-image COCO records merged into COCO jsons."""
import os.path as osp
from abc import abstractmethod
from typing import List

from mmwsss.fileio.coco_records import image_record, load_records, save_json
from .base_writer import BaseWriter


class CocoRecordWriter(BaseWriter):
    """Write one record per image, merge the run's records at the end.

    Per image, :meth:`record_content` gives the image's size and the
    writer's fields, stored with the image's file name and id
    (:func:`mmwsss.fileio.image_record`) as
    ``<output_dir>/<sample name><suffix>``. At the end of the run (rank 0)
    the records of the run's images, ordered by file name
    (:func:`mmwsss.fileio.load_records`), go to :meth:`merge`, which writes
    the COCO json(s) and returns its counts. See :class:`BaseWriter` for
    atomicity, resume, distribution and the manifest.

    Subclasses set :attr:`suffix` and implement :meth:`record_content`,
    :meth:`merge` and :meth:`load_output`.
    """

    suffix = '.json'

    @abstractmethod
    def record_content(self, sample: dict) -> dict:
        """``dict(height=H, width=W, **fields)`` of the record of
        ``sample`` (its file name and id are added)."""

    @abstractmethod
    def merge(self, records: List[dict]) -> dict:
        """Write the merged json(s) of ``records``; return the counts."""

    def write_item(self, path: str, sample: dict) -> None:
        """Write the record of one sample."""
        save_json(path, image_record(sample, **self.record_content(sample)))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write the manifest and merge the run's records."""
        metrics = super().compute_metrics(results)
        records = load_records(
            osp.join(self.output_dir, name + self.suffix)
            for name in {r['name']
                         for r in results})
        metrics.update(self.merge(records))
        return metrics
