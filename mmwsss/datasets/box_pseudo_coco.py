# Copyright (c) mmwsss contributors. All rights reserved.
"""COCO-style instance pseudo-masks with ignore regions (BBAM).

BBAM writes two instance jsons for the same images and boxes: foreground
masks (rank fraction 0.85) and ignore masks (rank fraction 0.2); pixels of an
object's ignore mask outside its foreground mask are ignored by the Mask
R-CNN loss, pixels outside its ignore mask are background. Both masks of an
instance must follow the same geometric transforms, so between loading and
packing they travel as one uint8 mask ``fg | ignore << 1`` in ``gt_masks``,
which mmdet's nearest-neighbour mask transforms (resize, flip, pad, crop)
carry unchanged; :class:`PackBoxPseudoInputs` splits it into
``gt_instances.masks`` and ``gt_instances.ignore_masks``. Both transforms are
in :mod:`mmwsss.datasets.transforms.box_pseudo_transforms`.
"""
from typing import List, Optional

import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.datasets.api_wrappers import COCO
from mmengine.fileio import get_local_path, join_path
from mmengine.utils import is_abs

from mmwsss.registry import DATASETS
# The transforms lived here; re-exported so that old imports keep working.
from .transforms.box_pseudo_transforms import (LoadBoxPseudoAnnotations,
                                               PackBoxPseudoInputs)

__all__ = [
    'BoxPseudoCocoDataset', 'LoadBoxPseudoAnnotations', 'PackBoxPseudoInputs'
]


@DATASETS.register_module()
class BoxPseudoCocoDataset(CocoDataset):
    """mmdet ``CocoDataset`` of foreground pseudo-masks paired with ignores.

    ``ann_file`` is the foreground json, ``ignore_ann_file`` the ignore json
    written alongside it (:class:`mmwsss.BBAMPseudoMaskWriter`). Both must
    hold the same images, and per image the same annotations in the same
    order (same boxes and categories); any difference raises ``ValueError``
    naming the image. Each instance gets ``mask`` from the foreground json
    and ``ignore_mask`` from the ignore json; load them with
    :class:`LoadBoxPseudoAnnotations`. Without ``ignore_ann_file`` this is a
    plain ``CocoDataset`` (the mask head then uses its balanced BCE).

    Args:
        ignore_ann_file (str, optional): Path of the ignore json, relative to
            ``data_root`` like ``ann_file``. Defaults to None.
        **kwargs: Arguments of mmdet's ``CocoDataset``.
    """

    def __init__(self, *args, ignore_ann_file: Optional[str] = None, **kwargs):
        self.ignore_ann_file = ignore_ann_file
        self._ignore_coco: Optional[COCO] = None
        super().__init__(*args, **kwargs)

    def _join_prefix(self):
        super()._join_prefix()
        if (self.ignore_ann_file and self.data_root
                and not is_abs(self.ignore_ann_file)):
            self.ignore_ann_file = join_path(self.data_root,
                                             self.ignore_ann_file)

    def load_data_list(self) -> List[dict]:
        """Load the foreground json and pair it with the ignore json."""
        if self.ignore_ann_file is None:
            return super().load_data_list()
        with get_local_path(
                self.ignore_ann_file,
                backend_args=self.backend_args) as local_path:
            self._ignore_coco = COCO(local_path)
        try:
            data_list = super().load_data_list()
            missing = set(self._ignore_coco.get_img_ids()) - {
                info['img_id']
                for info in data_list
            }
            if missing:
                raise ValueError(
                    f'{self.ignore_ann_file} has images that {self.ann_file} '
                    f'lacks: ids {sorted(missing)[:10]}.')
        finally:
            self._ignore_coco = None
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one image and attach the ignore mask of every instance."""
        data_info = super().parse_data_info(raw_data_info)
        if self._ignore_coco is None:
            return data_info
        img_info = raw_data_info['raw_img_info']
        img_id = img_info['img_id']
        where = f'image {img_id} ({img_info.get("file_name")})'
        ignore_img = self._ignore_coco.imgs.get(img_id)
        if ignore_img is None:
            raise ValueError(f'{where} of {self.ann_file} is missing from '
                             f'{self.ignore_ann_file}.')
        if ignore_img.get('file_name') != img_info.get('file_name'):
            raise ValueError(f'{where} is {ignore_img.get("file_name")} in '
                             f'{self.ignore_ann_file}.')
        fg_anns = raw_data_info['raw_ann_info']
        ignore_anns = self._ignore_coco.load_anns(
            self._ignore_coco.get_ann_ids(img_ids=[img_id]))
        if len(fg_anns) != len(ignore_anns):
            raise ValueError(
                f'{where}: {len(fg_anns)} annotations in {self.ann_file} but '
                f'{len(ignore_anns)} in {self.ignore_ann_file}.')
        for i, (fg, ignore) in enumerate(zip(fg_anns, ignore_anns)):
            if (not np.allclose(fg['bbox'], ignore['bbox'])
                    or fg['category_id'] != ignore['category_id']):
                raise ValueError(
                    f'{where}, annotation {i}: box {fg["bbox"]} category '
                    f'{fg["category_id"]} in {self.ann_file} but box '
                    f'{ignore["bbox"]} category {ignore["category_id"]} in '
                    f'{self.ignore_ann_file}.')
        ignore_info = super().parse_data_info(
            dict(raw_img_info=img_info, raw_ann_info=ignore_anns))
        # Boxes and categories match, so only a zero area (an empty mask)
        # can make parse_data_info drop an annotation on one side only.
        if len(ignore_info['instances']) != len(data_info['instances']):
            raise ValueError(
                f'{where}: {len(data_info["instances"])} valid annotations in '
                f'{self.ann_file} but {len(ignore_info["instances"])} in '
                f'{self.ignore_ann_file} (an empty mask or zero area?).')
        for instance, ignore in zip(data_info['instances'],
                                    ignore_info['instances']):
            if 'mask' in ignore:
                instance['ignore_mask'] = ignore['mask']
        return data_info
