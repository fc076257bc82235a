# Copyright (c) mmwsss contributors. All rights reserved.
"""File formats of mmwsss outputs."""
from .coco_records import (coco_categories, coco_image_ids, coco_json,
                           decode_rle, encode_rle, image_record, load_record,
                           load_records, rle_area, rle_bbox, save_json)

__all__ = [
    'coco_categories', 'coco_image_ids', 'coco_json', 'decode_rle',
    'encode_rle', 'image_record', 'load_record', 'load_records', 'rle_area',
    'rle_bbox', 'save_json'
]
