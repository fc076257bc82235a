# Copyright (c) mmwsss contributors. All rights reserved.
"""Writer of instance pseudo-masks: per-image files and a COCO json."""
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmwsss.fileio.coco_records import (coco_categories, coco_image_ids,
                                        coco_json, decode_rle, encode_rle,
                                        load_record, rle_area, rle_bbox,
                                        save_json)
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from .coco_record_writer import CocoRecordWriter


def read_instance_file(path: str) -> InstanceData:
    """Read the instance pseudo-masks of one image written by
    :class:`InstancePseudoMaskWriter`.

    Args:
        path (str): The ``.instances.json`` file.

    Returns:
        InstanceData: ``masks`` (N, H, W) bool, ``scores`` (N,) float32 and
        ``labels`` (N,) int64 (0-based classes).
    """
    record = load_record(path)
    dets = record['detections']
    masks = np.zeros((len(dets), record['height'], record['width']), bool)
    for k, det in enumerate(dets):
        masks[k] = decode_rle(det['segmentation'])
    return InstanceData(
        masks=torch.from_numpy(masks),
        scores=torch.tensor([d['score'] for d in dets], dtype=torch.float32),
        labels=torch.tensor([d['label'] for d in dets], dtype=torch.int64))


@METRICS.register_module()
class InstancePseudoMaskWriter(CocoRecordWriter):
    """Store instance pseudo-masks and merge them into a COCO json.

    Per image, the ``pred_instances`` (``masks``, ``scores``, ``labels``) of
    :class:`mmwsss.IRNetInstanceWalk` go to
    ``<output_dir>/<id>.instances.json``: the image's file name, id and size
    and, per detection, its 0-based ``label``, ``score``, mask as COCO RLE
    (``counts`` as str), ``bbox`` (xywh) and ``area``. At the end of the run
    (rank 0) the files of the run's images are merged into ``ann_file``, a
    COCO instances json that mmdet's ``CocoDataset`` reads:

    - ``categories``: the dataset's class names, ids ``k + 1`` or, with
      ``source_ann_file``, that json's ids of the same names;
    - ``images``: file name and size; ids from ``source_ann_file`` (matched
      by file name) when given, else the dataset's ids when they are
      integers (COCO), else 1..N in the order of the file names (VOC);
    - ``annotations``: every detection with ``iscrowd`` 0 and its
      ``score`` kept (mmdet ignores it; detections smaller than the model's
      ``min_area_ratio`` have score 0 and can be filtered on it).

    See :class:`CocoRecordWriter` for the records and their merge, and
    :class:`BaseWriter` for atomicity, resume, distribution and the
    manifest.

    Args:
        output_dir (str): Folder of the per-image files.
        ann_file (str): The merged COCO json.
        source_ann_file (str, optional): COCO json of the source dataset
            whose image and category ids the merged json takes. Defaults to
            None.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    suffix = '.instances.json'
    default_prefix = 'instance_pseudo_mask_writer'

    def __init__(self,
                 output_dir: str,
                 ann_file: str,
                 source_ann_file: Optional[str] = None,
                 **kwargs):
        super().__init__(output_dir, **kwargs)
        self.ann_file = ann_file
        self.source_ann_file = source_ann_file

    def record_content(self, sample: dict) -> dict:
        """Size and detections of one sample."""
        pred = sample['pred_instances']
        masks = to_numpy(pred['masks']).astype(bool)
        scores = to_numpy(pred['scores']).astype(np.float64)
        labels = to_numpy(pred['labels']).astype(np.int64)
        height, width = (int(s) for s in sample['ori_shape'])
        if masks.shape[1:] != (height, width):
            raise ValueError(
                f'{self.output_path(sample)}: masks of size '
                f'{masks.shape[1:]} for an image of size {(height, width)}')
        detections = []
        for mask, score, label in zip(masks, scores, labels):
            rle = encode_rle(mask)
            detections.append(
                dict(
                    label=int(label),
                    score=float(score),
                    segmentation=rle,
                    bbox=rle_bbox(rle),
                    area=rle_area(rle)))
        return dict(height=height, width=width, detections=detections)

    def load_output(self, sample: Any) -> Any:
        """Fill ``pred_instances`` of a data sample from its file."""
        sample.pred_instances = read_instance_file(self.output_path(sample))
        return sample

    def _source_ids(self,
                    records: List[dict]) -> Tuple[Dict[str, int], List[int]]:
        # Image ids by file name (checked for every record) and category ids
        # by class of the source json.
        source = load_record(self.source_ann_file)
        ids = {image['file_name']: image['id'] for image in source['images']}
        missing = [
            r['file_name'] for r in records if r['file_name'] not in ids
        ]
        if missing:
            raise KeyError(f'{len(missing)} images are not in '
                           f'{self.source_ann_file}, e.g. {missing[:3]}')
        names = {c['name']: c['id'] for c in source['categories']}
        classes = self.dataset_meta['classes']
        unknown = [c for c in classes if c not in names]
        if unknown:
            raise KeyError(f'Classes {unknown} are not categories of '
                           f'{self.source_ann_file}')
        return ids, [names[c] for c in classes]

    def merge(self, records: List[dict]) -> dict:
        """Merge the records into ``ann_file``."""
        classes = self.dataset_meta['classes']
        if self.source_ann_file is not None:
            id_of, cat_ids = self._source_ids(records)
            image_ids = [id_of[r['file_name']] for r in records]
        else:
            cat_ids = list(range(1, len(classes) + 1))
            image_ids = coco_image_ids(records)

        def annotations_of(record: dict):
            for det in record['detections']:
                yield dict(
                    category_id=cat_ids[det['label']],
                    segmentation=det['segmentation'],
                    area=det['area'],
                    bbox=det['bbox'],
                    iscrowd=0,
                    score=det['score'])

        content = coco_json(records, image_ids, annotations_of,
                            coco_categories(classes, cat_ids))
        save_json(self.ann_file, content)
        return dict(
            images=len(content['images']),
            detections=len(content['annotations']))
