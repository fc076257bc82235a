# Copyright (c) mmwsss contributors. All rights reserved.
"""COCO 2014 for WSSS: 81-class label PNGs and split lists from the
instances jsons, in a layout :class:`mmwsss.VOCWSSSDataset` reads."""
import json
import os.path as osp
from typing import Dict, List

import numpy as np
import pycocotools.mask as mask_utils

from mmwsss.fileio import encode_label_map, voc_palette
from .common import ConversionOutputs
from .voc import track

IGNORE = 255


def coco_semantic_label(annotations: List[dict], height: int, width: int,
                        label_of: Dict[int, int]) -> np.ndarray:
    """Rasterise one image's instance annotations into a class map.

    Instances are painted in annotation order (a later one covers an earlier
    one where they overlap); crowd regions that no instance covers become
    255 (ignore), as COCO's evaluation ignores them.

    Args:
        annotations (list[dict]): COCO annotations of the image (polygons,
            RLE or uncompressed RLE).
        height (int): Image height.
        width (int): Image width.
        label_of (dict[int, int]): COCO category id -> label 1..80.

    Returns:
        np.ndarray: uint8 (H, W) labels, 0 background, 255 ignore.
    """
    label = np.zeros((height, width), np.uint8)
    crowd = np.zeros((height, width), bool)
    for ann in annotations:
        segmentation = ann['segmentation']
        if isinstance(segmentation, list):
            rle = mask_utils.merge(
                mask_utils.frPyObjects(segmentation, height, width))
        elif isinstance(segmentation['counts'], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            rle = segmentation
        mask = mask_utils.decode(rle).astype(bool)
        if ann.get('iscrowd', 0):
            crowd |= mask
        else:
            label[mask] = label_of[ann['category_id']]
    label[crowd & (label == 0)] = IGNORE
    return label


def convert_coco14_wsss(coco_root: str,
                        split: str,
                        overwrite: bool = False,
                        progress: bool = True) -> Dict[str, int]:
    """Write the label PNGs, split list and ``meta.json`` of a COCO split.

    Reads ``<coco_root>/annotations/instances_<split>.json`` and writes

    - ``SegmentationClass/<split>/<image stem>.png``: 81-class label maps
      (see :func:`coco_semantic_label`), VOC palette;
    - ``ImageSets/<split>.txt``: the images with at least one non-crowd
      instance (82,081 of train2014, 40,137 of val2014), whose image-level
      labels are the classes in their label map;
    - ``meta.json``: the 80 class names (COCO category order) and palette.

    Then ``mmwsss.VOCWSSSDataset(data_root=coco_root,
    ann_file='ImageSets/<split>.txt', data_prefix=dict(img_path=split,
    seg_map_path='SegmentationClass/<split>'), label_source='seg')`` reads
    the split.

    Args:
        coco_root (str): Folder with ``annotations/`` and ``<split>/``.
        split (str): ``train2014`` or ``val2014``.
        overwrite (bool): Replace differing existing files. Defaults to
            False.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict[str, int]: ``images`` (listed), ``without_instances`` and the
        file counts.
    """
    ann_file = osp.join(coco_root, 'annotations', f'instances_{split}.json')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'COCO annotations not found: {ann_file}')
    with open(ann_file) as f:
        dataset = json.load(f)
    for key in ('images', 'annotations', 'categories'):
        if key not in dataset:
            raise ValueError(f'{ann_file} has no "{key}"')
    categories = sorted(dataset['categories'], key=lambda c: c['id'])
    label_of = {c['id']: k + 1 for k, c in enumerate(categories)}
    anns_of: Dict[int, List[dict]] = {}
    for ann in dataset['annotations']:
        if ann['category_id'] not in label_of:
            raise ValueError(f'{ann_file}: annotation {ann.get("id")} has '
                             f'unknown category {ann["category_id"]}')
        anns_of.setdefault(ann['image_id'], []).append(ann)

    outputs = ConversionOutputs(overwrite)
    listed = []
    images = sorted(dataset['images'], key=lambda i: i['file_name'])
    for image in track(images, progress):
        anns = anns_of.get(image['id'], [])
        if not any(not a.get('iscrowd', 0) for a in anns):
            continue
        stem = osp.splitext(image['file_name'])[0]
        label = coco_semantic_label(anns, image['height'], image['width'],
                                    label_of)
        outputs.put(
            osp.join(coco_root, 'SegmentationClass', split, stem + '.png'),
            encode_label_map(label))
        listed.append(stem)
    outputs.put_text(
        osp.join(coco_root, 'ImageSets', split + '.txt'),
        ''.join(stem + '\n' for stem in listed))
    meta = dict(
        classes=[c['name'] for c in categories],
        palette=voc_palette(len(categories) + 1).tolist())
    outputs.put_text(osp.join(coco_root, 'meta.json'), json.dumps(meta))
    outputs.check()
    return dict(
        images=len(listed),
        without_instances=len(images) - len(listed),
        **outputs.counts)
