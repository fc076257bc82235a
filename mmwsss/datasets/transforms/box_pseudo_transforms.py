# Copyright (c) mmwsss contributors. All rights reserved.
"""Transforms of BBAM's instance pseudo-masks with ignore regions.

Between loading and packing, the foreground and ignore masks of an instance
travel as one uint8 mask ``fg | ignore << 1`` in ``gt_masks``, so that mmdet's
nearest-neighbour mask transforms (resize, flip, pad, crop) move both alike.
The dataset is :class:`mmwsss.datasets.BoxPseudoCocoDataset`.
"""
import numpy as np
from mmdet.datasets.transforms import LoadAnnotations, PackDetInputs
from mmdet.structures.mask import BitmapMasks

from mmwsss.registry import TRANSFORMS

# Key of the results dict marking gt_masks as encoded fg | ignore << 1.
WITH_IGNORE_KEY = 'gt_masks_with_ignore'


@TRANSFORMS.register_module()
class LoadBoxPseudoAnnotations(LoadAnnotations):
    """mmdet ``LoadAnnotations`` that also loads the ignore masks.

    With ``with_mask=True`` and instances carrying ``ignore_mask``
    (:class:`mmwsss.datasets.BoxPseudoCocoDataset`), ``gt_masks`` holds the
    uint8 encoding ``fg | ignore << 1`` of each instance and the results get
    ``gt_masks_with_ignore=True``; :class:`PackBoxPseudoInputs` decodes it.
    Geometric transforms in between must treat masks by nearest neighbour
    (mmdet's ``Resize``, ``RandomFlip``, ``Pad``, ``RandomCrop`` do; rotations
    and shears with bilinear mask interpolation would mix the two bits).
    Instances without ``ignore_mask`` load as usual.

    Args:
        **kwargs: Arguments of mmdet's ``LoadAnnotations``; ``poly2mask``
            must stay True when ignore masks are present.
    """

    def _load_masks(self, results: dict) -> None:
        super()._load_masks(results)
        instances = results.get('instances', [])
        if not instances or not all('ignore_mask' in i for i in instances):
            return
        if not self.poly2mask:
            raise ValueError('Ignore masks need poly2mask=True.')
        height, width = results['ori_shape']
        fg = results['gt_masks'].masks.astype(np.uint8)
        ignore = np.stack([
            self._poly2mask(i['ignore_mask'], height, width) for i in instances
        ]).astype(np.uint8)
        results['gt_masks'] = BitmapMasks(fg | (ignore << 1), height, width)
        results[WITH_IGNORE_KEY] = True


@TRANSFORMS.register_module()
class PackBoxPseudoInputs(PackDetInputs):
    """mmdet ``PackDetInputs`` that unpacks the ignore masks.

    When the masks were loaded by :class:`LoadBoxPseudoAnnotations` with
    ignore masks, ``gt_instances`` (and ``ignored_instances``) get ``masks``
    (foreground) and ``ignore_masks`` as separate ``BitmapMasks``; otherwise
    this is mmdet's ``PackDetInputs``.

    Args:
        **kwargs: Arguments of mmdet's ``PackDetInputs``.
    """

    def transform(self, results: dict) -> dict:
        """Pack the inputs and split the encoded masks."""
        packed = super().transform(results)
        if not results.get(WITH_IGNORE_KEY):
            return packed
        sample = packed['data_samples']
        for instances in (sample.gt_instances, sample.ignored_instances):
            if 'masks' not in instances:
                continue
            encoded = instances.masks
            height, width = encoded.height, encoded.width
            instances.masks = BitmapMasks(encoded.masks & 1, height, width)
            instances.ignore_masks = BitmapMasks((encoded.masks >> 1) & 1,
                                                 height, width)
        return packed
