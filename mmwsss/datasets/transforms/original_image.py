# Copyright (c) mmwsss contributors. All rights reserved.
"""Keep the image as loaded, for model steps in the original frame."""
from mmcv.transforms import BaseTransform

from mmwsss.registry import TRANSFORMS


@TRANSFORMS.register_module()
class KeepOriginalImage(BaseTransform):
    """Keep a copy of the loaded image under ``key``.

    Put it right after the loading transform: models that work in the
    original image frame (e.g. the CRF of :class:`mmwsss.BBAM`'s
    pseudo-masks) read it while the network gets the resized image. Add
    ``key`` to the packing transform's ``meta_keys`` (e.g. mmdet's
    ``PackDetInputs``) so that it reaches the data sample. It is a copy, so
    later transforms that work in place cannot change it.

    Added keys: ``key`` (the image as ``img`` is now).

    Args:
        key (str): Where to keep it. Defaults to ``'ori_img'``.
    """

    def __init__(self, key: str = 'ori_img'):
        self.key = key

    def transform(self, results: dict) -> dict:
        results[self.key] = results['img'].copy()
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(key={self.key!r})'
