# Copyright (c) mmwsss contributors. All rights reserved.
"""Geometric and photometric transforms of the reference pipelines."""
from typing import Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmpretrain.datasets.transforms import \
    ColorJitter as MMPretrainColorJitter
from PIL import Image, ImageEnhance

from mmwsss.models.utils.cam import scaled_size
from mmwsss.registry import TRANSFORMS

_PIL_INTERPOLATION = dict(
    nearest=Image.NEAREST, bilinear=Image.BILINEAR, bicubic=Image.BICUBIC)


def pil_resize(img: np.ndarray, size_hw: Tuple[int, int],
               interpolation: str) -> np.ndarray:
    """Resize an (H, W[, C]) uint8 array with PIL to ``size_hw``."""
    if tuple(img.shape[:2]) == tuple(size_hw):
        return img
    resized = Image.fromarray(img).resize((size_hw[1], size_hw[0]),
                                          _PIL_INTERPOLATION[interpolation])
    return np.asarray(resized)


def resize_image_and_label(results: dict, size_hw: Tuple[int, int],
                           interpolation: str) -> dict:
    """Resize ``img`` with ``interpolation`` and, if present, ``gt_seg_map``
    with nearest neighbour (PIL) to ``size_hw``; update ``img_shape``."""
    results['img'] = pil_resize(results['img'], size_hw, interpolation)
    if 'gt_seg_map' in results:
        results['gt_seg_map'] = pil_resize(results['gt_seg_map'], size_hw,
                                           'nearest')
    results['img_shape'] = size_hw
    return results


class PILRandomResize(BaseTransform):
    """Resize the image with ``interpolation`` and ``gt_seg_map`` with
    nearest neighbour (PIL) to a size drawn by a subclass.

    Args:
        interpolation (str): ``'bicubic'``, ``'bilinear'`` or ``'nearest'``.
            Defaults to ``'bicubic'``.
    """

    def __init__(self, interpolation: str = 'bicubic'):
        if interpolation not in _PIL_INTERPOLATION:
            raise ValueError(f'Unknown interpolation {interpolation!r}')
        self.interpolation = interpolation

    def _draw_size(self, h: int, w: int) -> Tuple[int, int]:
        """The new (height, width) of an h x w image."""
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        size = self._draw_size(*results['img'].shape[:2])
        return resize_image_and_label(results, size, self.interpolation)


@TRANSFORMS.register_module()
class RandomLongSideResize(PILRandomResize):
    """Resize so that the long side is a random integer in a range (PIL).

    The IRN CAM training pipeline draws the long side uniformly from
    ``{320, ..., 640}`` and resizes with PIL bicubic.

    Args:
        long_side_range (tuple[int, int]): Inclusive range of the long side.
            Defaults to (320, 640).
        interpolation (str): ``'bicubic'``, ``'bilinear'`` or ``'nearest'``.
            Defaults to ``'bicubic'``.
    """

    def __init__(self,
                 long_side_range: Tuple[int, int] = (320, 640),
                 interpolation: str = 'bicubic'):
        super().__init__(interpolation)
        self.long_side_range = tuple(long_side_range)

    @cache_randomness
    def _draw_long_side(self) -> int:
        low, high = self.long_side_range
        return int(np.random.randint(low, high + 1))

    def _draw_size(self, h: int, w: int) -> Tuple[int, int]:
        scale = self._draw_long_side() / max(h, w)
        return int(round(h * scale)), int(round(w * scale))

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(long_side_range='
                f'{self.long_side_range}, interpolation={self.interpolation})')


class SquareCropPad(BaseTransform):
    """Square crop that pads where the image is smaller, at the offsets
    drawn by a subclass.

    Along each axis the ``crop_size`` window starts at ``img_*`` in the image
    and at ``cont_*`` in a canvas filled with ``pad_val`` (``seg_pad_val``
    for ``gt_seg_map``).

    Args:
        crop_size (int): Side of the square crop.
        pad_val (Sequence[float] | float): Image fill value. Defaults to 0.
        seg_pad_val (int): Label fill value. Defaults to 255.
    """

    def __init__(self,
                 crop_size: int,
                 pad_val: Sequence[float] = 0,
                 seg_pad_val: int = 255):
        self.crop_size = int(crop_size)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _offsets(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """``(cont_top, img_top, cont_left, img_left)`` for an h x w image."""
        raise NotImplementedError

    def _crop(self, arr: np.ndarray, offsets, fill) -> np.ndarray:
        cont_top, img_top, cont_left, img_left = offsets
        h, w = arr.shape[:2]
        ch = min(self.crop_size, h)
        cw = min(self.crop_size, w)
        canvas = np.empty((self.crop_size, self.crop_size) + arr.shape[2:],
                          dtype=arr.dtype)
        canvas[...] = np.asarray(fill, dtype=arr.dtype)
        canvas[cont_top:cont_top + ch, cont_left:cont_left + cw] = \
            arr[img_top:img_top + ch, img_left:img_left + cw]
        return canvas

    def transform(self, results: dict) -> dict:
        img = results['img']
        offsets = self._offsets(*img.shape[:2])
        results['img'] = self._crop(img, offsets, np.round(self.pad_val))
        if 'gt_seg_map' in results:
            results['gt_seg_map'] = self._crop(results['gt_seg_map'], offsets,
                                               self.seg_pad_val)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'pad_val={self.pad_val}, seg_pad_val={self.seg_pad_val})')


@TRANSFORMS.register_module()
class RandomCropPad(SquareCropPad):
    """Random square crop that pads small images, as IRN's ``random_crop``.

    Along each axis: if the image is longer than the crop, a random window of
    the image is taken; if shorter, the whole image is placed at a random
    offset inside a canvas filled with ``pad_val`` (``seg_pad_val`` for the
    label map).

    The reference pads with 0 *after* normalisation, i.e. with the mean
    colour; use ``pad_val`` = the data preprocessor's mean (rounded to uint8)
    for the same effect.

    Args:
        crop_size (int): Side of the square crop.
        pad_val (Sequence[float] | float): Image fill value. Defaults to 0.
        seg_pad_val (int): Label fill value. Defaults to 255.
    """

    @cache_randomness
    def _offsets(self, h: int, w: int) -> Tuple[int, int, int, int]:
        offsets = []
        for size in (h, w):
            space = size - self.crop_size
            if space > 0:
                offsets.append((0, int(np.random.randint(space + 1))))
            else:
                offsets.append((int(np.random.randint(-space + 1)), 0))
        (cont_top, img_top), (cont_left, img_left) = offsets
        return cont_top, img_top, cont_left, img_left


@TRANSFORMS.register_module()
class MultiScaleResize(BaseTransform):
    """Resize the image to several scales for multi-scale CAM inference.

    Sizes are ``np.round(side * scale)`` (round half to even), as the
    reference ``make_cam`` inputs; scale 1.0 keeps the image untouched.

    Added key: ``ms_imgs`` (list of uint8 arrays, one per scale) and
    ``cam_scales``.

    Args:
        scales (Sequence[float]): Defaults to (1.0, 0.5, 1.5, 2.0).
        interpolation (str): Defaults to ``'bicubic'``.
    """

    def __init__(self,
                 scales: Sequence[float] = (1.0, 0.5, 1.5, 2.0),
                 interpolation: str = 'bicubic'):
        if interpolation not in _PIL_INTERPOLATION:
            raise ValueError(f'Unknown interpolation {interpolation!r}')
        if not scales or not all(s > 0 for s in scales):
            raise ValueError(f'scales must be positive, got {scales}')
        self.scales = tuple(float(s) for s in scales)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        h, w = img.shape[:2]
        sizes = [scaled_size((h, w), s) for s in self.scales]
        for scale, size in zip(self.scales, sizes):
            if min(size) < 1:
                raise ValueError(
                    f"Image {results.get('img_path', '')} is {h}x{w} (HxW): "
                    f'too small for scale {scale} (gives {size[0]}x{size[1]})')
        results['ms_imgs'] = [
            pil_resize(img, size, self.interpolation) for size in sizes
        ]
        results['cam_scales'] = self.scales
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scales={self.scales}, '
                f'interpolation={self.interpolation})')


def shift_hue(img_rgb: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate the hue of an RGB uint8 image by ``hue_factor`` of a turn.

    The hue channel of PIL's HSV is shifted by ``int(hue_factor * 255)``
    modulo 256, as torchvision's PIL path does, but with integer arithmetic:
    mmcv's ``adjust_hue`` computes ``np.uint8(negative)``, which numpy 2
    refuses with an ``OverflowError``.

    Args:
        img_rgb (np.ndarray): (H, W, 3) uint8 image in RGB order.
        hue_factor (float): Shift in [-0.5, 0.5].

    Returns:
        np.ndarray: The hue-shifted image, (H, W, 3) uint8.
    """
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5]')
    hsv = np.array(Image.fromarray(img_rgb, 'RGB').convert('HSV'))
    shift = int(hue_factor * 255) % 256
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + shift) % 256
    return np.asarray(Image.fromarray(hsv, 'HSV').convert('RGB'))


@TRANSFORMS.register_module()
class ColorJitter(MMPretrainColorJitter):
    """Random brightness, contrast, saturation and hue, in either channel
    order and under numpy 2.

    The factors and the random order are drawn exactly as mmpretrain's
    ``ColorJitter`` draws them (same arguments); the four operations are
    torchvision's PIL ones, applied to the image in its true channel order.
    mmpretrain's version assumes BGR and overflows on negative hue shifts
    under numpy 2 (mmcv's ``adjust_hue``), so configs whose recipes list
    colour jitter use this one.

    Args:
        brightness, contrast, saturation, hue: As in mmpretrain's
            ``ColorJitter``.
        channel_order (str): ``'rgb'`` (images of ``mmwsss.LoadImageRGB``)
            or ``'bgr'`` (mmcv's ``LoadImageFromFile``). Defaults to
            ``'rgb'``.
    """

    def __init__(self,
                 brightness=0.,
                 contrast=0.,
                 saturation=0.,
                 hue=0.,
                 channel_order: str = 'rgb'):
        super().__init__(brightness, contrast, saturation, hue)
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(
                f"channel_order must be 'rgb' or 'bgr', not {channel_order!r}")
        self.channel_order = channel_order

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise TypeError('ColorJitter needs an (H, W, 3) uint8 image, got '
                            f'{img.dtype} {img.shape} for '
                            f"{results.get('img_path', 'an image')}")
        order, brightness, contrast, saturation, hue = self._rand_params()
        rgb = img if self.channel_order == 'rgb' else img[..., ::-1]
        pil = Image.fromarray(np.ascontiguousarray(rgb), 'RGB')
        for index in order:
            if index == 0 and brightness is not None:
                pil = ImageEnhance.Brightness(pil).enhance(brightness)
            elif index == 1 and contrast is not None:
                pil = ImageEnhance.Contrast(pil).enhance(contrast)
            elif index == 2 and saturation is not None:
                pil = ImageEnhance.Color(pil).enhance(saturation)
            elif index == 3 and hue is not None:
                pil = Image.fromarray(shift_hue(np.asarray(pil), hue), 'RGB')
        rgb = np.asarray(pil)
        results['img'] = np.ascontiguousarray(
            rgb if self.channel_order == 'rgb' else rgb[..., ::-1])
        return results

    def __repr__(self):
        return (super().__repr__()[:-1] +
                f", channel_order='{self.channel_order}')")
