# Copyright (c) mmwsss contributors. All rights reserved.
"""Box datasets that never drop an object silently.

mmdet's ``CocoDataset`` skips, without a word, every box whose ``area``
field is 0 (even when the box itself is valid), that is thinner than a
pixel, that lies outside the image, or whose category the config does not
list; ``VOCDataset`` skips unknown class names and crashes on a malformed
coordinate without naming the file. For a pseudo-label job (BBAM) a skipped
box is an object that silently gets no mask. These datasets check every box
and either stop with an error naming the annotation file and object, or skip
it and count it (``invalid_box='skip'``); what was skipped or clipped is
logged once the annotations are loaded and kept in :attr:`box_report`.
"""
import math
import os.path as osp
from collections import Counter
from typing import List, Optional, Tuple

from mmdet.datasets import CocoDataset, VOCDataset
from mmengine.logging import MMLogger

from mmwsss.registry import DATASETS

INVALID_BOX_POLICIES = ('error', 'skip')


def check_box(box: List[float], height: int, width: int,
              where: str) -> Tuple[Optional[List[float]], str]:
    """Validate one ``[x1, y1, x2, y2]`` box of an image.

    Args:
        box (list[float]): The box corners.
        height (int): Image height.
        width (int): Image width.
        where (str): The annotation, named in messages.

    Returns:
        tuple: The box clipped to the image (None when invalid) and what
        happened: ``'ok'``, ``'clipped'``, or why it is invalid.
    """
    if len(box) != 4 or not all(
            isinstance(v, (int, float)) and math.isfinite(v) for v in box):
        return None, f'{where}: box {box} is not 4 finite numbers'
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return None, f'{where}: box {box} is inverted or has no area'
    clipped = [
        min(max(x1, 0), width),
        min(max(y1, 0), height),
        min(max(x2, 0), width),
        min(max(y2, 0), height)
    ]
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        return None, (f'{where}: box {box} lies outside the {width}x{height} '
                      'image')
    return clipped, 'clipped' if clipped != list(box) else 'ok'


def _xywh_to_corners(bbox) -> list:
    """``[x1, y1, x2, y2]`` of a COCO ``[x, y, w, h]``; anything else is
    returned as a list for :func:`check_box` to refuse."""
    if (isinstance(bbox, (list, tuple)) and len(bbox) == 4
            and all(isinstance(v, (int, float)) for v in bbox)):
        x, y, w, h = bbox
        return [x, y, x + w, y + h]
    return list(bbox) if isinstance(bbox, (list, tuple)) else [bbox]


class _BoxReport:
    """Counts and first examples of what the checks did, logged once."""

    def __init__(self, invalid_box: str, ann_file: str):
        if invalid_box not in INVALID_BOX_POLICIES:
            raise ValueError(f'invalid_box must be one of '
                             f'{INVALID_BOX_POLICIES}, got {invalid_box!r}')
        self.invalid_box = invalid_box
        self.ann_file = ann_file
        self.counts: Counter = Counter()
        self.examples: List[str] = []

    def box(self, box, height, width, where) -> Optional[List[float]]:
        """The checked box, or None when it is skipped (else raise)."""
        checked, outcome = check_box(box, height, width, where)
        if checked is None:
            if self.invalid_box == 'error':
                raise ValueError(
                    f'{outcome} (annotation file {self.ann_file}); pass '
                    "invalid_box='skip' to skip such boxes and count them")
            self.skip('invalid box', outcome)
        elif outcome == 'clipped':
            self.counts['clipped to the image'] += 1
        return checked

    def skip(self, reason: str, example: str) -> None:
        self.counts[f'skipped: {reason}'] += 1
        if len(self.examples) < 5:
            self.examples.append(example)

    def as_dict(self) -> dict:
        return dict(counts=dict(self.counts), examples=list(self.examples))

    def log(self, num_images: int) -> None:
        if not self.counts:
            return
        counts = ', '.join(f'{n} {what}' for what, n in self.counts.items())
        MMLogger.get_current_instance().warning(
            f'{self.ann_file} ({num_images} images): {counts}. ' +
            ('Examples: ' + '; '.join(self.examples) if self.examples else ''))


@DATASETS.register_module()
class ValidatedCocoDataset(CocoDataset):
    """mmdet's ``CocoDataset`` with every box checked (see the module).

    - ``bbox`` and ``category_id`` must be present, the box 4 finite numbers
      of positive width and height; boxes reaching outside the image are
      clipped (and counted); the ``area`` field is not used.
    - A category absent from the json's ``categories`` is an error; one the
      config's ``classes`` leave out is skipped and counted.
    - Crowd boxes stay ``ignore_flag=1``, as in mmdet.

    Args:
        invalid_box (str): ``'error'`` (stop at the first invalid box) or
            ``'skip'`` (skip and count it). Defaults to ``'error'``.
        **kwargs: Arguments of mmdet's ``CocoDataset``.
    """

    def __init__(self, *args, invalid_box: str = 'error', **kwargs):
        self.box_report = _BoxReport(invalid_box, kwargs.get('ann_file', ''))
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        self.box_report.ann_file = self.ann_file
        self._all_cat_ids = None
        try:
            data_list = super().load_data_list()
        except KeyError as e:  # pycocotools indexes the json by these keys
            raise ValueError(f'{self.ann_file}: an annotation or image lacks '
                             f'the field {e}') from e
        self.box_report.log(len(data_list))
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        img_info = raw_data_info['raw_img_info']
        if self._all_cat_ids is None:
            self._all_cat_ids = set(self.coco.get_cat_ids())
        plain = dict(raw_data_info, raw_ann_info=[])
        data_info = super().parse_data_info(plain)
        height, width = img_info['height'], img_info['width']
        instances = []
        for ann in raw_data_info['raw_ann_info']:
            where = (f"{img_info['file_name']} annotation "
                     f"{ann.get('id', '?')}")
            missing = [k for k in ('bbox', 'category_id') if k not in ann]
            if missing:
                raise ValueError(f'{where}: no {missing} in {self.ann_file}')
            if ann.get('ignore', False):
                continue
            category = ann['category_id']
            if category not in self._all_cat_ids:
                raise ValueError(f'{where}: category {category} is not among '
                                 f'the categories of {self.ann_file}')
            if category not in self.cat2label:
                self.box_report.skip('category not in the config classes',
                                     f'{where}: category {category}')
                continue
            box = self.box_report.box(
                _xywh_to_corners(ann['bbox']), height, width, where)
            if box is None:
                continue
            instance = dict(
                bbox=box,
                bbox_label=self.cat2label[category],
                ignore_flag=int(bool(ann.get('iscrowd', False))))
            if ann.get('segmentation'):
                instance['mask'] = ann['segmentation']
            instances.append(instance)
        data_info['instances'] = instances
        return data_info


@DATASETS.register_module()
class ValidatedVOCDataset(VOCDataset):
    """mmdet's ``VOCDataset`` with every box checked (see the module).

    Unknown class names and malformed or missing coordinates name the XML
    file; invalid boxes stop the job or are skipped and counted
    (``invalid_box``); boxes reaching outside the image are clipped and
    counted. Difficult objects stay ``ignore_flag=1``, as in mmdet.

    Args:
        invalid_box (str): ``'error'`` or ``'skip'``. Defaults to
            ``'error'``.
        **kwargs: Arguments of mmdet's ``VOCDataset``.
    """

    def __init__(self, *args, invalid_box: str = 'error', **kwargs):
        self.box_report = _BoxReport(invalid_box, kwargs.get('ann_file', ''))
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        self.box_report.ann_file = self.ann_file
        data_list = super().load_data_list()
        self.box_report.log(len(data_list))
        return data_list

    def parse_data_info(self, img_info: dict) -> dict:
        # _parse_instance_info gets only the parsed XML; its errors name this
        self._xml_path = img_info['xml_path']
        data_info = super().parse_data_info(img_info)
        instances = []
        for index, instance in enumerate(data_info['instances']):
            box = self.box_report.box(
                instance['bbox'], data_info['height'], data_info['width'],
                f'{osp.basename(self._xml_path)} object {index}')
            if box is not None:
                instances.append(dict(instance, bbox=box))
        data_info['instances'] = instances
        return data_info

    def _parse_instance_info(self, raw_ann_info, minus_one: bool = True):
        known = set(self.metainfo['classes'])
        for index, obj in enumerate(raw_ann_info.findall('object')):
            where = f'{self._xml_path} object {index}'
            name = obj.findtext('name', default='').strip()
            if name not in known:
                raise ValueError(f'{where}: unknown class {name!r}')
            for key in ('xmin', 'ymin', 'xmax', 'ymax'):
                text = obj.findtext(f'bndbox/{key}')
                try:
                    value = float(text)
                except (TypeError, ValueError):
                    raise ValueError(
                        f'{where}: {key} is {text!r}, not a number') from None
                if not math.isfinite(value):
                    raise ValueError(f'{where}: {key} is {text!r}')
        return super()._parse_instance_info(raw_ann_info, minus_one)
