# Copyright (c) mmwsss contributors. All rights reserved.
"""Writers of BBAM: attribution maps and box pseudo-masks."""
import os
import os.path as osp
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmwsss.fileio.coco_records import (coco_categories, coco_image_ids,
                                        coco_json, decode_rle, encode_rle,
                                        image_record, load_record, rle_area,
                                        save_json)
from mmwsss.fileio import image_stem, load_npz, sample_name, save_npz
from mmwsss.registry import METRICS
from mmwsss.utils.tensor import to_numpy
from .base_writer import BaseWriter
from .coco_record_writer import CocoRecordWriter
from .label_map_writer import save_label_png

__all__ = ['BBAMWriter', 'BBAMPseudoMaskWriter', 'read_bbam_file']

# Per-object flags of the records; mcg_refined only where the model refined
# the masks with MCG proposals (records without MCG stay as they were).
_FLAGS = ('from_ignored', 'bbam_missing', 'box_filled', 'mcg_refined')
# Settings of the pseudo-masks, which mmwsss.BBAM computes since they left
# this writer.
_MOVED_TO_MODEL = ('fg_rank_fraction', 'ignore_rank_fraction')


def _box_array(boxes: Any) -> np.ndarray:
    return to_numpy(getattr(boxes, 'tensor',
                          boxes)).astype(np.float64).reshape(-1, 4)


def read_bbam_file(path: str) -> InstanceData:
    """Read the BBAMs of one image written by :class:`BBAMWriter`.

    Args:
        path (str): The ``.npz`` file.

    Returns:
        InstanceData: ``bboxes``, ``labels``, ``bbams`` (list of float32
        (h_k, w_k) tensors), ``num_positives``, ``iou_thresholds``,
        ``strides`` and ``from_ignored``.
    """
    arrays = load_npz(path)
    sizes = np.prod(arrays['shapes'], axis=1)
    flat = np.split(arrays['maps'].astype(np.float32), np.cumsum(sizes)[:-1])
    bbams = [
        torch.from_numpy(m.reshape(shape).copy())
        for m, shape in zip(flat, arrays['shapes'])
    ] if len(sizes) else []
    return InstanceData(
        bboxes=torch.from_numpy(arrays['bboxes']),
        labels=torch.from_numpy(arrays['labels']),
        bbams=bbams,
        num_positives=torch.from_numpy(arrays['num_positives']),
        iou_thresholds=torch.from_numpy(arrays['iou_thresholds']),
        strides=torch.from_numpy(arrays['strides']),
        from_ignored=torch.from_numpy(arrays['from_ignored']))


@METRICS.register_module()
class BBAMWriter(BaseWriter):
    """Store the BBAMs of every image as ``<output_dir>/<sample name>.npz``
    (:func:`sample_name`).

    Each compressed archive (no pickles) holds, for the K explained objects
    of :class:`mmwsss.BBAM`:

    - ``bboxes`` float32 (K, 4): boxes ``[x0, y0, x1, y1]``, original image
      frame; ``labels`` int64 (K,): 0-based classes;
    - ``shapes`` int64 (K, 2) and ``maps`` float16 (sum h_k w_k,): the maps
      on their own grids, flattened and concatenated (the grids differ with
      the object's stride);
    - ``num_positives`` int64, ``iou_thresholds`` float32, ``strides``
      float32, ``from_ignored`` bool, all (K,).

    float16 keeps the [0, 1] maps to within 5e-4, far below what the
    rank-based pseudo-mask step resolves. Read a file back with
    :func:`read_bbam_file`. See :class:`BaseWriter` for atomicity, resume,
    distribution and the manifest.

    Args:
        output_dir (str): Output folder.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    default_prefix = 'bbam_writer'

    def write_item(self, path: str, sample: dict) -> None:
        """Write the BBAMs of one sample."""
        pred = sample['pred_instances']
        bbams = [to_numpy(m).astype(np.float32) for m in pred['bbams']]
        save_npz(
            path,
            dict(
                bboxes=_box_array(pred['bboxes']).astype(np.float32),
                labels=to_numpy(pred['labels']).astype(np.int64),
                shapes=np.array([m.shape for m in bbams],
                                dtype=np.int64).reshape(-1, 2),
                maps=np.concatenate([m.ravel() for m in bbams] +
                                    [np.zeros(0, np.float32)]).astype(
                                        np.float16),
                num_positives=to_numpy(pred['num_positives']).astype(np.int64),
                iou_thresholds=to_numpy(pred['iou_thresholds']).astype(
                    np.float32),
                strides=to_numpy(pred['strides']).astype(np.float32),
                from_ignored=to_numpy(pred['from_ignored']).astype(bool)))

    def load_output(self, sample: Any) -> Any:
        """Fill ``pred_instances`` of a data sample from its file."""
        sample.pred_instances = read_bbam_file(self.output_path(sample))
        return sample


@METRICS.register_module()
class BBAMPseudoMaskWriter(CocoRecordWriter):
    """Write the instance and semantic pseudo-masks of :class:`mmwsss.BBAM`.

    The model makes them (``pseudo_mask_cfg``: CRF, rank fractions, filled
    boxes, semantic merge); this writer only stores, per image:

    - ``<output_dir>/<sample name>.masks.json``: the image entry and, per
      object, box (xywh), category, both masks (``masks``, ``ignore_masks``)
      as COCO RLE (str counts) and the flags ``from_ignored``,
      ``bbam_missing`` and ``box_filled`` (and ``mcg_refined`` when the
      model refined the masks with MCG proposals,
      ``pseudo_mask_cfg=dict(mcg_dir=...)``); written atomically last, so
      its presence means the image is done;
    - ``<semantic_dir>/<image file stem>.png`` (if ``semantic_dir``): the
      ``pred_sem_seg`` label map (0 background, ``k + 1`` class ``k``, 255
      ignore) in the VOC palette.

    At the end of the run (rank 0) the files of the run's images are merged
    into two COCO instance jsons that mmdet's ``CocoDataset`` reads:
    ``fg_ann_file`` (foreground masks) and ``ignore_ann_file`` (ignore
    masks), same images, boxes, categories (the dataset's class names) and
    annotation ids and order, as :class:`mmwsss.BoxPseudoCocoDataset`
    expects. Image ids are the dataset's when they are integers (COCO),
    else 1..N in file-name order (VOC). Objects that came from the
    dataset's ignored instances (COCO crowd boxes, VOC difficult objects)
    are written with ``iscrowd=1`` by default, so that mmdet ignores them
    again when it trains on the jsons, as it did on the source annotations.

    A resumed image gets its masks back from its file (:meth:`load_output`)
    for the metrics of the run (:class:`mmwsss.BoxPseudoMaskMetric`). See
    :class:`CocoRecordWriter` and :class:`BaseWriter` for atomicity, resume,
    distribution and the manifest.

    Args:
        output_dir (str): Folder of the per-image files.
        fg_ann_file (str): Merged foreground json.
        ignore_ann_file (str): Merged ignore json.
        semantic_dir (str, optional): Folder of the semantic PNGs.
            Defaults to None (not written).
        ignored_as_crowd (bool): Write objects from ignored instances with
            ``iscrowd=1`` (False: as ordinary instances, as the reference's
            VOC jsons hold difficult objects). Defaults to True.
        **kwargs: Arguments of :class:`BaseWriter`.
    """

    suffix = '.masks.json'
    default_prefix = 'bbam_pseudo_mask'

    def __init__(self,
                 output_dir: str,
                 fg_ann_file: str,
                 ignore_ann_file: str,
                 semantic_dir: Optional[str] = None,
                 ignored_as_crowd: bool = True,
                 **kwargs):
        moved = [key for key in _MOVED_TO_MODEL if key in kwargs]
        if moved:
            raise TypeError(
                'BBAMPseudoMaskWriter no longer computes the pseudo-masks: '
                f'move {", ".join(moved)} to the model, '
                f'model=dict(type="mmwsss.BBAM", ..., '
                f'pseudo_mask_cfg=dict({moved[0]}=...)).')
        super().__init__(output_dir, **kwargs)
        self.fg_ann_file = fg_ann_file
        self.ignore_ann_file = ignore_ann_file
        self.semantic_dir = semantic_dir
        self.ignored_as_crowd = ignored_as_crowd

    def _png_path(self, sample: Any) -> str:
        # keyed like the images, which is what the segmentation datasets
        # that train on these PNGs read (COCO's img_id is an integer)
        return osp.join(self.semantic_dir, image_stem(sample) + '.png')

    def has_output(self, sample: Any) -> bool:
        """Whether the per-image file (and the PNG, if any) exist and look
        whole; an image whose PNG is missing is written again."""
        png_ok = self.semantic_dir is None or self._file_ok(
            self._png_path(sample))
        return png_ok and super().has_output(sample)

    def owned_files(self) -> List[str]:
        """The per-image files and the PNGs of ``semantic_dir``."""
        files = self.output_files()
        if self.semantic_dir is not None and osp.isdir(self.semantic_dir):
            files += sorted(
                osp.join(root, name)
                for root, _, names in os.walk(self.semantic_dir)
                for name in names if name.endswith('.png'))
        return files

    def record_content(self, sample: dict) -> dict:
        """Size and objects of one sample."""
        pred = sample.get('pred_instances') or {}
        if ('masks' not in pred or 'ignore_masks' not in pred
                or 'pred_sem_seg' not in sample):
            raise KeyError(
                f'{sample.get("img_path")}: the prediction has no pseudo-'
                'masks; mmwsss.BBAM makes them with '
                'pseudo_mask_cfg=dict(...) (the settings that this writer '
                'took before).')
        fg = to_numpy(pred['masks']).astype(bool)
        ignore = to_numpy(pred['ignore_masks']).astype(bool)
        boxes = _box_array(pred['bboxes'])
        flags = {
            key: to_numpy(pred[key]).astype(bool)
            for key in _FLAGS if key != 'mcg_refined' or key in pred
        }
        objects = []
        for k, (box, label) in enumerate(
                zip(boxes,
                    to_numpy(pred['labels']).astype(np.int64))):
            objects.append(
                dict(
                    bbox=[
                        float(box[0]),
                        float(box[1]),
                        float(box[2] - box[0]),
                        float(box[3] - box[1])
                    ],
                    label=int(label),
                    fg=encode_rle(fg[k]),
                    ignore=encode_rle(ignore[k]),
                    **{key: bool(value[k])
                       for key, value in flags.items()}))
        return dict(height=fg.shape[1], width=fg.shape[2], objects=objects)

    def write_item(self, path: str, sample: dict) -> None:
        """Write the PNG, then the record (the mark of a finished image)."""
        record = image_record(sample, **self.record_content(sample))
        if self.semantic_dir is not None:
            save_label_png(
                self._png_path(sample),
                to_numpy(sample['pred_sem_seg']['sem_seg'])[0])
        save_json(path, record)

    def load_output(self, sample: Any) -> Any:
        """Fill ``pred_instances`` (boxes, labels, masks, flags) from the
        file, keeping the fields already there (e.g. the BBAMs)."""
        instances = _read_instances(load_record(self.output_path(sample)))
        pred = sample.get('pred_instances')
        if pred is not None and len(pred) == len(instances):
            for key, value in instances.items():
                setattr(pred, key, value)
        else:
            sample.pred_instances = instances
        return sample

    def merge(self, records: List[dict]) -> dict:
        """Merge the records into the foreground and ignore jsons."""
        image_ids = coco_image_ids(records)
        categories = coco_categories(self.dataset_meta['classes'])
        for path, key in ((self.fg_ann_file, 'fg'), (self.ignore_ann_file,
                                                     'ignore')):

            def annotations_of(record: dict, key: str = key):
                for obj in record['objects']:
                    yield dict(
                        category_id=obj['label'] + 1,
                        segmentation=obj[key],
                        area=rle_area(obj[key]),
                        bbox=obj['bbox'],
                        iscrowd=int(self.ignored_as_crowd
                                    and obj['from_ignored']))

            save_json(
                path,
                coco_json(records, image_ids, annotations_of, categories))
        objects = [obj for record in records for obj in record['objects']]
        summary = dict(
            images=len(records),
            objects=len(objects),
            bbam_missing=sum(obj['bbam_missing'] for obj in objects),
            box_filled=sum(obj['box_filled'] for obj in objects))
        if any('mcg_refined' in obj for obj in objects):
            summary['mcg_refined'] = sum(
                obj.get('mcg_refined', False) for obj in objects)
        return summary


def _read_instances(record: dict) -> InstanceData:
    """The objects of a :class:`BBAMPseudoMaskWriter` record."""
    objects = record['objects']
    shape = (len(objects), record['height'], record['width'])

    def masks(key: str) -> torch.Tensor:
        decoded = [decode_rle(obj[key]) for obj in objects]
        return torch.from_numpy(
            np.stack(decoded) if decoded else np.zeros(shape, dtype=bool))

    def flags(key: str) -> torch.Tensor:
        return torch.tensor([obj[key] for obj in objects], dtype=torch.bool)

    boxes = np.array([obj['bbox'] for obj in objects],
                     dtype=np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    instances = InstanceData(
        bboxes=torch.from_numpy(boxes),
        labels=torch.tensor([obj['label'] for obj in objects],
                            dtype=torch.long),
        masks=masks('fg'),
        ignore_masks=masks('ignore'))
    for key in _FLAGS:
        # mcg_refined only in the records of a run with MCG proposals
        if key != 'mcg_refined' or any(key in obj for obj in objects):
            setattr(instances, key, flags(key))
    return instances
