# Copyright (c) mmwsss contributors. All rights reserved.
"""Writers and metric of BBAM: attribution maps and box pseudo-masks."""
import json
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import InstanceData

from mmwsss.models.bbam import bbam_to_instance_mask, merge_semantic_labels
from mmwsss.registry import METRICS
from mmwsss.utils.io import atomic_write, load_npz, save_npz
from mmwsss.utils.tensor import to_numpy
from ..functional.instance_masks import coco_mask_ap
from ..functional.instance_masks import decode_mask as _decode
from ..functional.instance_masks import encode_mask as _encode
from ..functional.seed_metrics import segmentation_scores
from ..metrics.label_map_metrics import label_confusion
from .base_writer import BaseWriter
from .label_map_writer import save_label_png

__all__ = [
    'BBAMWriter', 'BBAMPseudoMaskWriter', 'BoxPseudoMaskMetric',
    'read_bbam_file'
]


def _image_stem(sample: Any) -> str:
    # Outputs are named like the image file, as VOC-style label folders.
    img_path = sample.get('img_path')
    if img_path:
        return osp.splitext(osp.basename(img_path))[0]
    return str(sample.get('img_id'))


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
    """Store the BBAMs of every image as ``<output_dir>/<image stem>.npz``.

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

    def output_path(self, sample: Any) -> str:
        """``<output_dir>/<image stem>.npz``."""
        return osp.join(self.output_dir, _image_stem(sample) + self.suffix)

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


def _int_box(box: np.ndarray, height: int,
             width: int) -> Tuple[int, int, int, int]:
    # The pixels the box touches, inside the image, at least one of them.
    x0 = int(np.clip(np.floor(box[0]), 0, width - 1))
    y0 = int(np.clip(np.floor(box[1]), 0, height - 1))
    x1 = int(np.clip(np.ceil(box[2]), x0 + 1, width))
    y1 = int(np.clip(np.ceil(box[3]), y0 + 1, height))
    return x0, y0, x1, y1


def _box_fill(box: Tuple[int, int, int, int], height: int,
              width: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


@METRICS.register_module()
class BBAMPseudoMaskWriter(BaseWriter):
    """Instance and semantic pseudo-masks from BBAMs.

    For every object of :class:`mmwsss.BBAM`'s ``pred_instances``,
    :func:`mmwsss.models.bbam.bbam_to_instance_mask` (default dense CRF on
    the original image) turns the BBAM into a foreground mask with rank
    fraction ``fg_rank_fraction`` (0.85) and an ignore mask with
    ``ignore_rank_fraction`` (0.2); objects without positive proposals take
    its box-filling path. A mask that still comes out empty becomes its
    filled box, so every box keeps a mask in both files (the reference
    silently drops it). Per image:

    - ``<output_dir>/<image stem>.masks.json``: the image entry and, per
      object, box (xywh), category, both masks as COCO RLE (str counts) and
      flags; written atomically last, so its presence means the image is
      done;
    - ``<semantic_dir>/<image stem>.png`` (if ``semantic_dir``): the
      semantic pseudo-label of
      :func:`mmwsss.models.bbam.merge_semantic_labels` (0 background,
      ``k + 1`` class ``k``, 255 ignore) in the VOC palette.

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

    The masks are also put into ``pred_instances`` (``masks``,
    ``ignore_masks``) for :class:`BoxPseudoMaskMetric`, which must come
    after this writer in ``test_evaluator``. See :class:`BaseWriter` for
    atomicity, resume, distribution and the manifest.

    Args:
        output_dir (str): Folder of the per-image files.
        fg_ann_file (str): Merged foreground json.
        ignore_ann_file (str): Merged ignore json.
        semantic_dir (str, optional): Folder of the semantic PNGs.
            Defaults to None (not written).
        fg_rank_fraction (float): Rank fraction of the foreground masks.
            Defaults to 0.85.
        ignore_rank_fraction (float): Rank fraction of the ignore masks.
            Defaults to 0.2.
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
                 fg_rank_fraction: float = 0.85,
                 ignore_rank_fraction: float = 0.2,
                 ignored_as_crowd: bool = True,
                 **kwargs):
        super().__init__(output_dir, **kwargs)
        self.fg_ann_file = fg_ann_file
        self.ignore_ann_file = ignore_ann_file
        self.semantic_dir = semantic_dir
        self.fg_rank_fraction = fg_rank_fraction
        self.ignore_rank_fraction = ignore_rank_fraction
        self.ignored_as_crowd = ignored_as_crowd

    def output_path(self, sample: Any) -> str:
        """``<output_dir>/<image stem>.masks.json``."""
        return osp.join(self.output_dir, _image_stem(sample) + self.suffix)

    def has_output(self, sample: Any) -> bool:
        """Whether the per-image file (and the PNG, if any) exist."""
        png_ok = self.semantic_dir is None or osp.isfile(
            osp.join(self.semantic_dir,
                     _image_stem(sample) + '.png'))
        return png_ok and super().has_output(sample)

    def _pseudo_masks(self, sample: dict) -> dict:
        """Compute the record of one image (the per-image file's content)."""
        image = mmcv.imread(sample['img_path'])
        height, width = image.shape[:2]
        pred = sample['pred_instances']
        boxes = _box_array(pred['bboxes'])
        labels = to_numpy(pred['labels']).astype(np.int64)
        num_positives = to_numpy(pred['num_positives'])
        from_ignored = to_numpy(pred['from_ignored']).astype(bool)
        objects = []
        for k, (box, label) in enumerate(zip(boxes, labels)):
            int_box = _int_box(box, height, width)
            bbam = (
                to_numpy(pred['bbams'][k]).astype(np.float32)
                if num_positives[k] > 0 else None)
            masks, filled = [], False
            for rank in (self.fg_rank_fraction, self.ignore_rank_fraction):
                mask = bbam_to_instance_mask(bbam, int_box, image, rank)
                if not mask.any():
                    mask, filled = _box_fill(int_box, height, width), True
                masks.append(mask)
            objects.append(
                dict(
                    bbox=[
                        float(box[0]),
                        float(box[1]),
                        float(box[2] - box[0]),
                        float(box[3] - box[1])
                    ],
                    label=int(label),
                    fg=_encode(masks[0]),
                    ignore=_encode(masks[1]),
                    from_ignored=bool(from_ignored[k]),
                    bbam_missing=bbam is None,
                    box_filled=filled))
        img_id = sample.get('img_id')
        return dict(
            file_name=osp.basename(sample['img_path']),
            img_id=img_id if isinstance(img_id, int) else str(img_id),
            height=height,
            width=width,
            objects=objects)

    def _semantic(self, record: dict) -> np.ndarray:
        objects = record['objects']
        shape = (len(objects), record['height'], record['width'])
        fg = np.zeros(shape, dtype=bool)
        ignore = np.zeros(shape, dtype=bool)
        for k, obj in enumerate(objects):
            fg[k], ignore[k] = _decode(obj['fg']), _decode(obj['ignore'])
        return merge_semantic_labels([obj['label'] + 1 for obj in objects],
                                     [obj['bbox'] for obj in objects], fg,
                                     ignore)

    def write_item(self, path: str, sample: dict) -> None:
        """Compute and write the pseudo-masks of one sample."""
        record = self._pseudo_masks(sample)
        if self.semantic_dir is not None:
            save_label_png(
                osp.join(self.semantic_dir,
                         _image_stem(sample) + '.png'), self._semantic(record))
        atomic_write(path, lambda f: f.write(json.dumps(record).encode()))

    def _instances(self, record: dict) -> InstanceData:
        objects = record['objects']
        shape = (len(objects), record['height'], record['width'])

        def stack(key: str) -> torch.Tensor:
            masks = [_decode(obj[key]) for obj in objects]
            return torch.from_numpy(
                np.stack(masks) if masks else np.zeros(shape, dtype=bool))

        boxes = np.array([obj['bbox'] for obj in objects],
                         dtype=np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        return InstanceData(
            bboxes=torch.from_numpy(boxes),
            labels=torch.tensor([obj['label'] for obj in objects],
                                dtype=torch.long),
            masks=stack('fg'),
            ignore_masks=stack('ignore'),
            from_ignored=torch.tensor([obj['from_ignored'] for obj in objects],
                                      dtype=torch.bool))

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Write the pseudo-masks of a batch and attach them to the samples.
        """
        for sample in data_samples:
            path = self.output_path(sample)
            written = not self.has_output(sample)
            if written:
                self.write_item(path, sample)
            pred = sample.get('pred_instances')
            if pred is None or 'masks' not in pred:
                with open(path) as f:
                    instances = self._instances(json.load(f))
                pred = dict(pred or {})
                pred.update(instances.to_dict())
                sample['pred_instances'] = pred
            self.results.append(
                dict(name=_image_stem(sample), written=written))

    def load_output(self, sample: Any) -> Any:
        """Fill ``pred_instances`` (boxes, labels, masks) from the file."""
        with open(self.output_path(sample)) as f:
            instances = self._instances(json.load(f))
        pred = sample.get('pred_instances')
        if pred is not None and len(pred) == len(instances):
            for key, value in instances.items():
                pred[key] = value
        else:
            sample.pred_instances = instances
        return sample

    def compute_metrics(self, results: List[dict]) -> dict:
        """Merge the run's per-image files into the two jsons."""
        metrics = super().compute_metrics(results)
        records = []
        for name in sorted({r['name'] for r in results}):
            with open(osp.join(self.output_dir, name + self.suffix)) as f:
                records.append(json.load(f))
        integer_ids = all(isinstance(r['img_id'], int) for r in records)
        categories = [
            dict(id=i + 1, name=name)
            for i, name in enumerate(self.dataset_meta['classes'])
        ]
        images, fg_anns, ignore_anns = [], [], []
        counts = dict(objects=0, bbam_missing=0, box_filled=0)
        for index, record in enumerate(records):
            image_id = record['img_id'] if integer_ids else index + 1
            images.append(
                dict(
                    id=image_id,
                    file_name=record['file_name'],
                    height=record['height'],
                    width=record['width']))
            for obj in record['objects']:
                counts['objects'] += 1
                counts['bbam_missing'] += obj['bbam_missing']
                counts['box_filled'] += obj['box_filled']
                for anns, key in ((fg_anns, 'fg'), (ignore_anns, 'ignore')):
                    anns.append(
                        dict(
                            id=counts['objects'],
                            image_id=image_id,
                            category_id=obj['label'] + 1,
                            segmentation=obj[key],
                            area=float(mask_utils.area(obj[key])),
                            bbox=obj['bbox'],
                            iscrowd=int(self.ignored_as_crowd
                                        and obj['from_ignored'])))
        for path, anns in ((self.fg_ann_file, fg_anns), (self.ignore_ann_file,
                                                         ignore_anns)):
            content = dict(
                images=images, annotations=anns, categories=categories)
            atomic_write(
                path, lambda f, c=content: f.write(json.dumps(c).encode()))
        metrics.update(images=len(images), **counts)
        return metrics


def _semantic_gt(masks: np.ndarray, labels: np.ndarray) -> np.ndarray:
    label_map = np.zeros(masks.shape[1:], dtype=np.int64)
    for mask, label in zip(masks, labels):
        label_map[mask] = label + 1
    return label_map


@METRICS.register_module()
class BoxPseudoMaskMetric(BaseMetric):
    """Quality of box pseudo-masks against ground-truth instance masks.

    Needs ``pred_instances.masks`` / ``ignore_masks`` of
    :class:`BBAMPseudoMaskWriter` (list this metric after it) and
    ``gt_instances.masks`` in the original image frame (mmdet's
    ``LoadAnnotations(with_mask=True)`` after ``Resize``). The objects not
    from ``ignored_instances`` pair one to one, in order, with
    ``gt_instances``. Images without ground-truth masks are skipped.
    Reported, in percent, for the pseudo-masks and for the trivial baseline
    that fills every box (same merge, same protocol):

    - ``mIoU`` / ``box_mIoU``: semantic labels of
      :func:`mmwsss.models.bbam.merge_semantic_labels` (the pseudo-masks'
      written PNGs; the baseline's boxes as both masks) against the ground
      truth's instance masks, predicted 255 counted as background (IRN's
      ``eval_sem_seg``), background included;
    - ``ignored``: share of pixels the pseudo-labels ignore (255);
    - ``mean_instance_IoU`` / ``box_mean_instance_IoU``: mean over objects
      of the IoU of an object's foreground mask with its own ground-truth
      mask;
    - ``mask_AP``, ``mask_AP50``, ``mask_AP75`` and the ``box_`` versions:
      pycocotools ``COCOeval`` (``segm``) of the foreground masks as
      detections with score 1 against the ground-truth masks.

    Args:
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'box_pseudo_mask'``.
    """

    default_prefix = 'box_pseudo_mask'

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Score the pseudo-masks and the filled boxes of each image."""
        num_classes = len(self.dataset_meta['classes']) + 1
        for sample in data_samples:
            pred = sample.get('pred_instances') or {}
            if 'masks' not in pred or 'ignore_masks' not in pred:
                raise KeyError(
                    'BoxPseudoMaskMetric needs pred_instances.masks and '
                    'ignore_masks: list mmwsss.BBAMPseudoMaskWriter before '
                    'it in test_evaluator.')
            gt = sample.get('gt_instances') or {}
            if gt.get('masks') is None:
                continue
            gt_masks = gt['masks'].to_ndarray().astype(bool)
            gt_labels = to_numpy(gt['labels']).astype(np.int64)
            fg = to_numpy(pred['masks']).astype(bool)
            ignore = to_numpy(pred['ignore_masks']).astype(bool)
            labels = to_numpy(pred['labels']).astype(np.int64)
            boxes = _box_array(pred['bboxes'])
            own = ~to_numpy(pred['from_ignored']).astype(bool)
            if gt_masks.shape[1:] != fg.shape[1:]:
                raise ValueError(
                    f'{sample.get("img_path")}: ground-truth masks of size '
                    f'{gt_masks.shape[1:]} but pseudo-masks of size '
                    f'{fg.shape[1:]}; load the annotations after Resize so '
                    'that they stay in the original frame.')
            if own.sum() != len(gt_labels) or (labels[own] != gt_labels).any():
                raise ValueError(
                    f'{sample.get("img_path")}: the pseudo-masks do not pair '
                    'with gt_instances (different count or classes).')
            height, width = fg.shape[1:]
            filled = np.stack([
                _box_fill(_int_box(box, height, width), height, width)
                for box in boxes
            ]) if len(boxes) else fg
            xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]],
                                  axis=1)
            gt_sem = _semantic_gt(gt_masks, gt_labels)
            pseudo_sem = merge_semantic_labels(labels + 1, xywh, fg, ignore)
            box_sem = merge_semantic_labels(labels + 1, xywh, filled, filled)

            def instance_ious(masks: np.ndarray) -> List[float]:
                inter = (masks[own] & gt_masks).sum(axis=(1, 2))
                union = (masks[own] | gt_masks).sum(axis=(1, 2))
                return (inter / np.maximum(union, 1)).tolist()

            self.results.append(
                dict(
                    confusion=label_confusion(pseudo_sem, gt_sem, num_classes,
                                              False),
                    box_confusion=label_confusion(box_sem, gt_sem, num_classes,
                                                  False),
                    ignored=int((pseudo_sem == 255).sum()),
                    pixels=int(pseudo_sem.size),
                    ious=instance_ious(fg),
                    box_ious=instance_ious(filled),
                    height=height,
                    width=width,
                    gt=[(_encode(m), int(c))
                        for m, c in zip(gt_masks, gt_labels)],
                    pseudo=[(_encode(m), int(c))
                            for m, c in zip(fg[own], gt_labels)],
                    box=[(_encode(m), int(c))
                         for m, c in zip(filled[own], gt_labels)]))

    @staticmethod
    def _mask_ap(results: List[dict], key: str,
                 num_classes: int) -> Dict[str, float]:
        """COCO segm AP of the ``key`` masks as score-1 detections."""
        return coco_mask_ap(
            results,
            num_classes,
            det_key=key,
            log_title=f'COCO segm of the {key} masks:')

    def compute_metrics(self, results: List[dict]) -> dict:
        """Aggregate the scores of every image."""
        if not results:
            return dict()
        num_classes = len(self.dataset_meta['classes'])
        metrics = dict()
        for prefix, conf, ious, key in (('', 'confusion', 'ious', 'pseudo'),
                                        ('box_', 'box_confusion', 'box_ious',
                                         'box')):
            total = np.sum([r[conf] for r in results], axis=0)
            all_ious = [iou for r in results for iou in r[ious]]
            metrics[f'{prefix}mIoU'] = segmentation_scores(total)['miou'] * 100
            metrics[f'{prefix}mean_instance_IoU'] = float(
                np.mean(all_ious) * 100) if all_ious else float('nan')
            for name, value in self._mask_ap(results, key,
                                             num_classes).items():
                metrics[f'{prefix}mask_{name}'] = value
        metrics['ignored'] = sum(r['ignored'] for r in results) / max(
            sum(r['pixels'] for r in results), 1) * 100
        return metrics
