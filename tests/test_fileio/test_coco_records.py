# Copyright (c) mmwsss contributors. All rights reserved.
"""Per-image COCO records and their merge (mmwsss.fileio.coco_records)."""
import json

import numpy as np

from mmwsss.fileio import (coco_categories, coco_image_ids, coco_json,
                           decode_rle, encode_rle, image_record, load_record,
                           load_records, rle_area, rle_bbox, save_json)


def test_rle_round_trip_is_json_ready():
    mask = np.zeros((5, 7), dtype=bool)
    mask[1:3, 2:6] = True
    rle = encode_rle(mask)
    assert isinstance(rle['counts'], str) and rle['size'] == [5, 7]
    assert json.loads(json.dumps(rle)) == rle
    np.testing.assert_array_equal(decode_rle(rle), mask)
    assert rle_area(rle) == 8.0
    assert rle_bbox(rle) == [2.0, 1.0, 4.0, 2.0]


def test_records_are_ordered_by_file_name(tmp_path):
    paths = []
    # written in any order, e.g. by several processes
    for name, img_id in (('b', 'b'), ('a', 'a'), ('c', 'c')):
        record = image_record(
            dict(img_path=f'/data/{name}.jpg', img_id=img_id), 4, 6,
            objects=[name])
        paths.append(str(tmp_path / f'{name}.json'))
        save_json(paths[-1], record)
    assert load_record(paths[0]) == dict(
        file_name='b.jpg', img_id='b', height=4, width=6, objects=['b'])
    records = load_records(paths)
    assert [r['file_name'] for r in records] == ['a.jpg', 'b.jpg', 'c.jpg']
    # string ids (VOC) are numbered in that order
    assert coco_image_ids(records) == [1, 2, 3]
    # integer ids (COCO) are kept
    coco = [
        image_record(dict(img_path=f'{i:012d}.jpg', img_id=i), 4, 6)
        for i in (139, 2)
    ]
    assert coco_image_ids(coco) == [139, 2]


def test_coco_json_numbers_annotations_in_record_order():
    records = [
        dict(file_name='a.jpg', img_id='a', height=4, width=6, dets=[1, 2]),
        dict(file_name='b.jpg', img_id='b', height=5, width=7, dets=[3]),
    ]
    content = coco_json(records, [10, 20],
                        lambda r: (dict(category_id=d) for d in r['dets']),
                        coco_categories(('cat', 'dog')))
    assert content['images'] == [
        dict(id=10, file_name='a.jpg', height=4, width=6),
        dict(id=20, file_name='b.jpg', height=5, width=7)
    ]
    assert content['annotations'] == [
        dict(id=1, image_id=10, category_id=1),
        dict(id=2, image_id=10, category_id=2),
        dict(id=3, image_id=20, category_id=3)
    ]
    assert content['categories'] == [
        dict(id=1, name='cat'), dict(id=2, name='dog')
    ]
    assert coco_categories(('cat', ), [7]) == [dict(id=7, name='cat')]
