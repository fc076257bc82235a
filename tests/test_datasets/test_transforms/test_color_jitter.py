# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torchvision.transforms.functional as TF
from PIL import Image

from mmwsss.datasets.transforms import ColorJitter, shift_hue
from mmwsss.registry import TRANSFORMS


def _image(seed=0, shape=(24, 32, 3)):
    return np.random.RandomState(seed).randint(0, 256, shape, np.uint8)


def test_shift_hue_rotates_primaries():
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    np.testing.assert_array_equal(shift_hue(red, 1 / 3)[0, 0], [0, 255, 0])
    # int(-85) % 256 = 171 of 256 steps: blue, one step short
    np.testing.assert_array_equal(shift_hue(red, -1 / 3)[0, 0], [6, 0, 255])
    with pytest.raises(ValueError, match='not in'):
        shift_hue(red, 0.6)


@pytest.mark.parametrize('factor', [-0.5, -0.1, 0.05, 0.25, 0.5])
def test_shift_hue_equals_torchvision(factor):
    img = _image()
    expected = np.asarray(TF.adjust_hue(Image.fromarray(img), factor))
    np.testing.assert_array_equal(shift_hue(img, factor), expected)


def _torchvision_jitter(img, seed, ranges):
    """The same draw as ColorJitter, applied with torchvision's PIL ops."""
    np.random.seed(seed)
    order = np.random.permutation(4)
    factors = [np.random.uniform(*r) for r in ranges]
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation,
           TF.adjust_hue]
    pil = Image.fromarray(img)
    for index in order:
        pil = ops[index](pil, factors[index])
    return np.asarray(pil)


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_color_jitter_is_torchvision_jitter_in_rgb(seed):
    transform = TRANSFORMS.build(
        dict(
            type='mmwsss.ColorJitter',
            brightness=0.3,
            contrast=0.3,
            saturation=0.3,
            hue=0.1))
    img = _image(seed)
    np.random.seed(seed)
    out = transform(dict(img=img.copy()))['img']
    expected = _torchvision_jitter(
        img, seed, [(0.7, 1.3), (0.7, 1.3), (0.7, 1.3), (-0.1, 0.1)])
    np.testing.assert_array_equal(out, expected)


def test_color_jitter_bgr_is_rgb_mirrored():
    img = _image(5)
    rgb = ColorJitter(0.4, 0.4, 0.4, 0.2, channel_order='rgb')
    bgr = ColorJitter(0.4, 0.4, 0.4, 0.2, channel_order='bgr')
    for seed in range(5):
        np.random.seed(seed)
        from_rgb = rgb(dict(img=img.copy()))['img']
        np.random.seed(seed)
        from_bgr = bgr(dict(img=img[..., ::-1].copy()))['img']
        np.testing.assert_array_equal(from_bgr, from_rgb[..., ::-1])


def test_color_jitter_refuses_bad_input():
    with pytest.raises(ValueError, match='channel_order'):
        ColorJitter(hue=0.1, channel_order='hsv')
    with pytest.raises(TypeError, match='a.png'):
        ColorJitter(hue=0.1)(
            dict(img=np.zeros((4, 4), np.uint8), img_path='a.png'))
