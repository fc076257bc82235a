# Copyright (c) mmwsss contributors. All rights reserved.
"""Per-image records of instance masks and the COCO jsons merged from them.

Writers of instance pseudo-masks store one json record per image (written
atomically, so that a finished image survives an interrupted job) and, at
the end of a run, merge the records into COCO instance jsons that mmdet's
``CocoDataset`` reads. A record is a dict with ``file_name``, ``img_id``,
``height``, ``width`` and the writer's own fields; masks are COCO RLE with
``counts`` as str, so records and jsons hold plain json.
"""
import json
import os.path as osp
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import pycocotools.mask as mask_utils

from .atomic import atomic_write


def encode_rle(mask: np.ndarray) -> dict:
    """COCO RLE of a (H, W) binary mask, ``counts`` as str (json-ready)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return rle


def decode_rle(rle: dict) -> np.ndarray:
    """(H, W) bool mask of a COCO RLE (``counts`` as str or bytes)."""
    return mask_utils.decode(rle).astype(bool)


def rle_area(rle: dict) -> float:
    """Pixel count of a COCO RLE."""
    return float(mask_utils.area(rle))


def rle_bbox(rle: dict) -> List[float]:
    """Tight box ``[x, y, w, h]`` of a COCO RLE (zeros when empty)."""
    return mask_utils.toBbox(rle).tolist()


def image_record(sample: Any, height: int, width: int, **fields) -> dict:
    """The record of one image: its file name, id and size, then ``fields``.

    Args:
        sample (dict | BaseDataElement): The data sample (``img_path``,
            ``img_id``).
        height (int): Image height.
        width (int): Image width.
        **fields: The writer's content (e.g. the objects).

    Returns:
        dict: ``file_name`` (base name of ``img_path``), ``img_id`` (kept
        when an int, as COCO's, else str), ``height``, ``width`` and
        ``fields``.
    """
    img_id = sample.get('img_id')
    return dict(
        file_name=osp.basename(sample.get('img_path')),
        img_id=img_id if isinstance(img_id, int) else str(img_id),
        height=int(height),
        width=int(width),
        **fields)


def save_json(path: str, content: Any) -> None:
    """Write ``content`` as compact json, atomically."""
    atomic_write(path, lambda f: f.write(json.dumps(content).encode()))


def load_record(path: str) -> dict:
    """Read one record (or any json file)."""
    with open(path) as f:
        return json.load(f)


def load_records(paths: Iterable[str]) -> List[dict]:
    """Read records, ordered by image file name (stem, then id).

    The order fixes the annotation ids of the merged json and, for images
    without integer ids, the image ids (:func:`coco_image_ids`), so it must
    not depend on the order in which the images were processed.
    """
    records = [load_record(path) for path in paths]
    return sorted(
        records,
        key=lambda r: (osp.splitext(r['file_name'])[0], str(r['img_id'])))


def coco_image_ids(records: Sequence[dict]) -> List[int]:
    """COCO image ids of ordered records: their own ids when all are
    integers (COCO), else 1..N in order (VOC's ids are file stems)."""
    if all(isinstance(r['img_id'], int) for r in records):
        return [r['img_id'] for r in records]
    return list(range(1, len(records) + 1))


def coco_categories(classes: Sequence[str],
                    ids: Optional[Sequence[int]] = None) -> List[dict]:
    """COCO categories of the class names, ids ``k + 1`` unless given."""
    ids = range(1, len(classes) + 1) if ids is None else ids
    return [dict(id=cat_id, name=name) for cat_id, name in zip(ids, classes)]


def coco_json(records: Sequence[dict], image_ids: Sequence[int],
              annotations_of: Callable[[dict], Iterable[Dict[str, Any]]],
              categories: List[dict]) -> dict:
    """Merge ordered records into one COCO instances dict.

    Args:
        records (Sequence[dict]): The records (:func:`load_records`).
        image_ids (Sequence[int]): Their COCO image ids.
        annotations_of (Callable): ``annotations_of(record)`` yields the
            annotations of a record without ``id`` and ``image_id`` (e.g.
            ``category_id``, ``segmentation``, ``area``, ``bbox``,
            ``iscrowd``).
        categories (list[dict]): The COCO categories.

    Returns:
        dict: ``images``, ``annotations`` (ids 1..N in record order) and
        ``categories``.
    """
    images, annotations = [], []
    for image_id, record in zip(image_ids, records):
        images.append(
            dict(
                id=image_id,
                file_name=record['file_name'],
                height=record['height'],
                width=record['width']))
        for annotation in annotations_of(record):
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image_id, **annotation))
    return dict(images=images, annotations=annotations, categories=categories)
