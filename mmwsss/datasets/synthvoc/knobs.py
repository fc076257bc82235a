# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC knobs: defaults, help texts and validation."""
import difflib
import math

import numpy as np

# Version of the generator, written to ``meta.json`` and the COCO jsons.
GENERATOR_VERSION = '1.1'

SYNTHVOC_MAX_CLASSES = 20
SYNTHVOC_MAX_WSOL_CLASSES = 200

SYNTHVOC_DEFAULT_KNOBS = dict(
    num_train=300,
    num_val=100,
    num_ood=60,
    num_classes=6,
    image_size=(96, 192),
    objects_per_image=(1, 3),
    repeat_class_prob=0.3,
    object_scale=(0.35, 0.8),
    emblem_area=(0.10, 0.20),
    emblem_parts=(1, 1),
    body_texture_bias=0.5,
    habitat_prob=0.7,
    void_width=1,
    noise_std=4.0,
    max_blur=0.8,
    wsol_num_classes=10,
    wsol_images_per_class=20,
    wsol_train_fraction=0.5,
)

SYNTHVOC_KNOB_HELP = dict(
    num_train='number of training images',
    num_val='number of validation images',
    num_ood='number of out-of-distribution (habitat only) images',
    num_classes=f'foreground classes, 1..{SYNTHVOC_MAX_CLASSES}',
    image_size='min and max image side in pixels (each side drawn uniformly)',
    objects_per_image='min and max number of objects per image',
    repeat_class_prob='probability that another object repeats a class',
    object_scale='object extent as a fraction of the shorter image side',
    emblem_area='emblem area as a fraction of its object area',
    emblem_parts='min and max number of emblem copies sharing that area',
    body_texture_bias='probability of the class-preferred body texture',
    habitat_prob='probability that the background is a present class habitat',
    void_width='width of the void (255) band inside object outlines, px',
    noise_std='std of the additive pixel noise on the 0..255 scale',
    max_blur='maximum Gaussian blur radius (drawn uniformly from 0)',
    wsol_num_classes='classes of the WSOL set, '
    f'1..{SYNTHVOC_MAX_WSOL_CLASSES}',
    wsol_images_per_class='images per class of the WSOL set',
    wsol_train_fraction='fraction of each WSOL class in the train split',
)


def _check_int(name: str, value, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'{name} must be an integer, got {value!r}')
    if not low <= value <= high:
        raise ValueError(f'{name} must be in [{low}, {high}], got {value}')


def _check_float(name: str, value, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise ValueError(f'{name} must be a number, got {value!r}')
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f'{name} must be in [{low}, {high}], got {value}')


def _check_range(name: str, value, low, high, integer: bool) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f'{name} must be a pair (min, max), got {value!r}')
    check = _check_int if integer else _check_float
    check(f'{name}[0]', value[0], low, high)
    check(f'{name}[1]', value[1], low, high)
    if value[0] > value[1]:
        raise ValueError(f'{name} must satisfy min <= max, got {value!r}')
    cast = int if integer else float
    return cast(value[0]), cast(value[1])


def _resolve_knobs(knobs: dict) -> dict:
    """Merge ``knobs`` into the defaults and validate every value."""
    unknown = sorted(set(knobs) - set(SYNTHVOC_DEFAULT_KNOBS))
    if unknown:
        hints = {
            name: difflib.get_close_matches(name, SYNTHVOC_DEFAULT_KNOBS, 1)
            for name in unknown
        }
        hint = '; '.join(f'{n!r} (did you mean {h[0]!r}?)' if h else repr(n)
                         for n, h in hints.items())
        raise TypeError(f'unknown SynthVOC knob(s): {hint}. Valid knobs: '
                        f'{", ".join(SYNTHVOC_DEFAULT_KNOBS)}')
    cfg = dict(SYNTHVOC_DEFAULT_KNOBS, **knobs)
    for name in ('num_train', 'num_val', 'num_ood', 'wsol_images_per_class'):
        _check_int(name, cfg[name], 0, 10**6)
    _check_int('num_classes', cfg['num_classes'], 1, SYNTHVOC_MAX_CLASSES)
    _check_int('wsol_num_classes', cfg['wsol_num_classes'], 1,
               SYNTHVOC_MAX_WSOL_CLASSES)
    _check_int('void_width', cfg['void_width'], 0, 5)
    for name in ('repeat_class_prob', 'body_texture_bias', 'habitat_prob',
                 'wsol_train_fraction'):
        _check_float(name, cfg[name], 0.0, 1.0)
    _check_float('noise_std', cfg['noise_std'], 0.0, 50.0)
    _check_float('max_blur', cfg['max_blur'], 0.0, 3.0)
    cfg['image_size'] = _check_range('image_size', cfg['image_size'], 32,
                                     1024, True)
    cfg['objects_per_image'] = _check_range(
        'objects_per_image', cfg['objects_per_image'], 1, 6, True)
    cfg['emblem_parts'] = _check_range('emblem_parts', cfg['emblem_parts'],
                                       1, 4, True)
    cfg['object_scale'] = _check_range('object_scale', cfg['object_scale'],
                                       0.05, 1.5, False)
    cfg['emblem_area'] = _check_range('emblem_area', cfg['emblem_area'], 0.02,
                                      0.3, False)
    if cfg['emblem_area'][1] - cfg['emblem_area'][0] < 0.02 - 1e-9:
        # Pixel counts are discrete: a narrower window is often unreachable.
        raise ValueError('emblem_area must span at least 0.02, got '
                         f'{cfg["emblem_area"]!r}')
    smallest = cfg['object_scale'][0] * cfg['image_size'][0]
    if smallest < 20:
        raise ValueError(
            'object_scale[0] * image_size[0] must be at least 20 px so that '
            f'an emblem fits inside the smallest object, got {smallest:.1f}')
    for name in ('num_train', 'num_val', 'num_ood', 'num_classes',
                 'void_width', 'wsol_num_classes', 'wsol_images_per_class'):
        cfg[name] = int(cfg[name])
    for name in ('repeat_class_prob', 'body_texture_bias', 'habitat_prob',
                 'wsol_train_fraction', 'noise_std', 'max_blur'):
        cfg[name] = float(cfg[name])
    return cfg
