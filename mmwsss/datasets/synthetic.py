# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC: a procedural benchmark that models weak-supervision difficulties.

Every foreground class has a small class-specific *emblem* (colour, shape and
pattern) on a *body* whose texture and silhouette come from pools shared by all
classes, and a preferred *habitat* background. A classifier trained on image
labels therefore fires on emblems (CAM seeds under-cover objects) and leaks
into habitats. The generator writes the PASCAL VOC layout, a COCO instances
json per split, out-of-distribution habitat images and a CUB-style WSOL set.
See ``docs/synthetic_benchmark.md``.

This module depends only on numpy, scipy, Pillow and pycocotools, so it can be
used before the OpenMMLab stack is installed.
"""
import colorsys
import difflib
import json
import math
import os
import os.path as osp
import shutil
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageFilter
from pycocotools import mask as mask_utils
from scipy.ndimage import distance_transform_edt
from scipy.signal import fftconvolve

GENERATOR_VERSION = '1.1'

SYNTHVOC_DEFAULT_CLASSES = ('train', 'boat', 'aeroplane', 'cow', 'camel',
                            'sofa')
SYNTHVOC_DEFAULT_HABITATS = ('rail', 'water', 'sky', 'grass', 'sand', 'floor')
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

# Integer stream tags of the seed sequence: an image's pixels depend only on
# (seed, stream, index), never on the size of the other splits.
_STREAMS = dict(train=0, val=1, ood=2, wsol=3)
_JPEG_KWARGS = dict(quality=95, subsampling=0, optimize=False)

# Emblem vocabulary. The hue order puts maximally different hues first so
# that the default six classes get well separated emblem colours.
_HUES = (('Red', 0), ('Orange', 30), ('Yellow', 60), ('Lime', 90),
         ('Green', 120), ('Jade', 150), ('Cyan', 180), ('Azure', 210),
         ('Blue', 240), ('Violet', 270), ('Magenta', 300), ('Rose', 330))
_HUE_ORDER = (0, 6, 2, 8, 4, 10, 1, 7, 3, 9, 5, 11)
_EMBLEM_SHAPES = ('disc', 'diamond', 'triangle', 'flower', 'hexagon',
                  'cross')
_EMBLEM_PATTERNS = ('stripes', 'dots', 'checker', 'rings', 'bordered')
_PATTERN_ADJECTIVES = ('Striped', 'Dotted', 'Checkered', 'Ringed', 'Bordered')
# Circumradius of each emblem shape relative to its scale parameter.
_EMBLEM_HULL = dict(
    disc=1.0, diamond=1.0, triangle=1.0, flower=1.0, hexagon=1.0, cross=1.06)
_CROSS_ARM = 0.32
# WSOL classes take emblem codes after every possible SynthVOC class, so the
# two sets never share an emblem.
_WSOL_FIRST_CODE = SYNTHVOC_MAX_CLASSES

_BODY_TEXTURES = ('plain', 'stripes', 'checker', 'dots', 'waves', 'speckle',
                  'rings', 'hatch')
_SILHOUETTES = ('ellipse', 'superellipse', 'rounded_rect', 'blob', 'twin')

# Occlusion limits: every placed object keeps this much of its area and of
# its emblem visible, so that image labels stay recoverable.
_MIN_VISIBLE = 0.4
_MIN_EMBLEM_VISIBLE = 0.5
_MIN_IN_IMAGE = 0.6
_MIN_OBJECT_PX = 12
_PLACEMENT_TRIES = 12
_FIRST_PLACEMENT_TRIES = 200


@dataclass
class _ClassDesign:
    """Appearance rules of one class (independent of the seed)."""

    name: str
    habitat: int
    emblem_rgb: np.ndarray
    emblem_rgb2: np.ndarray
    emblem_shape: str
    emblem_pattern: str
    body_texture: int

    def to_meta(self, habitat_names: Sequence[str]) -> dict:
        """Describe the design with JSON-serialisable values."""
        return dict(
            name=self.name,
            habitat=habitat_names[self.habitat],
            emblem_colour=[round(float(c) * 255) for c in self.emblem_rgb],
            emblem_shape=self.emblem_shape,
            emblem_pattern=self.emblem_pattern,
            preferred_body_texture=_BODY_TEXTURES[self.body_texture])


@dataclass
class _Object:
    """One placed object; local arrays live in a crop at (y0, x0)."""

    label: int
    y0: int
    x0: int
    mask: np.ndarray
    extent: float
    area: int
    emblem_area: int
    truncated: bool
    emblem_parts: List[np.ndarray]
    emblem_centres: List[Tuple[int, int]]
    emblem_phi: float
    emblem_radius: float
    full: np.ndarray = field(repr=False)
    emblem_full: np.ndarray = field(repr=False)
    visible: np.ndarray = field(repr=False)
    emblem_visible: np.ndarray = field(repr=False)


# --------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------
def voc_palette(num_colors: int = 256) -> np.ndarray:
    """Return the PASCAL VOC colour map.

    Label ``i`` gets the colour whose bits interleave those of ``i`` (the
    standard VOC colour map: 0 is black, 1 dark red, ..., 255 the void
    colour ``(224, 224, 192)``).

    Args:
        num_colors (int): Number of labels to colour. Defaults to 256.

    Returns:
        np.ndarray: ``(num_colors, 3)`` uint8 array of RGB colours.
    """
    palette = np.zeros((num_colors, 3), dtype=np.uint8)
    for label in range(num_colors):
        value, rgb = label, [0, 0, 0]
        for shift in range(7, -1, -1):
            for channel in range(3):
                rgb[channel] |= ((value >> channel) & 1) << shift
            value >>= 3
        palette[label] = rgb
    return palette


def synthvoc_classes(num_classes: int = 6) -> Tuple[List[str], List[str]]:
    """Return the foreground class names and their habitat names.

    The first six classes have evocative names; further ones are numbered
    (``class07``/``habitat07``, ...).

    Args:
        num_classes (int): Number of foreground classes. Defaults to 6.

    Returns:
        tuple[list[str], list[str]]: Class names and habitat names, one habitat
        per class.
    """
    _check_int('num_classes', num_classes, 1, SYNTHVOC_MAX_CLASSES)
    named = len(SYNTHVOC_DEFAULT_CLASSES)
    classes = list(SYNTHVOC_DEFAULT_CLASSES[:num_classes])
    habitats = list(SYNTHVOC_DEFAULT_HABITATS[:num_classes])
    for k in range(named, num_classes):
        classes.append(f'class{k + 1:02d}')
        habitats.append(f'habitat{k + 1:02d}')
    return classes, habitats


def synthvoc_palette(num_classes: int = 6) -> List[List[int]]:
    """Return the palette of a SynthVOC label map, background first.

    Args:
        num_classes (int): Number of foreground classes. Defaults to 6.

    Returns:
        list[list[int]]: ``num_classes + 1`` VOC colours ``[r, g, b]``; label
        0 (background) is black.
    """
    _check_int('num_classes', num_classes, 1, SYNTHVOC_MAX_CLASSES)
    return voc_palette(num_classes + 1).tolist()


def generate_synthetic_voc(out_dir: str,
                           seed: int = 0,
                           overwrite: bool = False,
                           **knobs) -> dict:
    """Generate the SynthVOC benchmark into ``out_dir``.

    Writes the PASCAL VOC layout (``JPEGImages``, palette
    ``SegmentationClass``/``SegmentationObject``, ``Annotations`` XML,
    ``ImageSets``), per-object emblem maps (``SegmentationEmblem``), COCO
    instances jsons with RLE masks
    (``annotations/instances_{train,val}.json``),
    habitat-only images (``OoD/`` and ``ood_list.txt``), a CUB-200-2011 style
    WSOL set with masks (``wsol/``) and ``meta.json``.

    Output bytes depend only on the arguments. Each image is drawn from a
    random generator seeded with ``(seed, split, index)``, so changing the
    size of one split leaves the images of the other splits unchanged. Class
    designs (emblems, habitats, preferred textures) do not depend on the seed.

    Args:
        out_dir (str): Output folder. It must be empty or absent unless
            ``overwrite`` is set.
        seed (int): Non-negative random seed. Defaults to 0.
        overwrite (bool): Replace the SynthVOC content of an existing folder
            (one holding a ``meta.json``). Defaults to False.
        **knobs: Generator knobs; see ``SYNTHVOC_DEFAULT_KNOBS`` for names and
            defaults and ``SYNTHVOC_KNOB_HELP`` for their meaning.

    Returns:
        dict: Summary with ``out_dir``, ``seed``, ``generator_version``,
        ``splits``, ``num_objects``, ``num_ood``, ``wsol_images``,
        ``emblem_fraction`` (min/mean/max over all objects),
        ``habitat_cooccurrence``, ``multi_class_fraction``,
        ``repeated_class_fraction`` and ``seconds``.

    Raises:
        TypeError: For an unknown knob name.
        ValueError: For a knob or seed out of range.
        FileExistsError: When ``out_dir`` is not empty and ``overwrite`` is
            not set, or holds something other than a SynthVOC output.
        RuntimeError: When an emblem cannot fit any drawn object (knobs that
            combine tiny objects, large emblems and a wide void band).
    """
    start = time.perf_counter()
    _check_int('seed', seed, 0, 2**63 - 1)
    seed = int(seed)
    cfg = _resolve_knobs(knobs)
    _prepare_out_dir(out_dir, overwrite)

    classes, habitats = synthvoc_classes(cfg['num_classes'])
    designs = _class_designs(classes)
    wsol_names = _wsol_class_names(cfg['wsol_num_classes'])
    wsol_designs = _class_designs(wsol_names, _WSOL_FIRST_CODE)
    wsol_habitats = [_habitat_name(h) for h in range(len(wsol_names))]

    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationObject',
                'SegmentationEmblem', 'Annotations', 'ImageSets/Segmentation',
                'ImageSets/Main', 'annotations', 'OoD'):
        os.makedirs(osp.join(out_dir, sub), exist_ok=True)
    palette = voc_palette().tobytes()

    stats = dict(fractions=[], habitat=0, multi=0, repeated=0, images=0)
    num_objects, trainval = {}, []
    for split in ('train', 'val'):
        num_objects[split], ids = _write_voc_split(out_dir, split, seed, cfg,
                                                   designs, classes, palette,
                                                   stats)
        trainval += ids
    for sub in ('Segmentation', 'Main'):
        _write_lines(
            osp.join(out_dir, 'ImageSets', sub, 'trainval.txt'), trainval)

    ood_lines = []
    for index in range(cfg['num_ood']):
        rng = _rng(seed, 'ood', index)
        height, width = _image_size(rng, cfg)
        habitat = designs[int(rng.integers(len(designs)))].habitat
        image = _finish(rng, _habitat(habitat, rng, height, width), cfg)
        rel = f'OoD/sv_ood_{index + 1:06d}.jpg'
        _save_jpg(osp.join(out_dir, rel), image)
        ood_lines.append(rel)
    _write_lines(osp.join(out_dir, 'ood_list.txt'), ood_lines)

    wsol_meta = _write_wsol(
        osp.join(out_dir, 'wsol'), seed, cfg, wsol_designs, wsol_names)
    wsol_meta['habitats'] = wsol_habitats
    wsol_meta['class_designs'] = [
        d.to_meta(wsol_habitats) for d in wsol_designs
    ]

    meta = dict(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        knobs={k: list(v) if isinstance(v, tuple) else v
               for k, v in cfg.items()},
        classes=classes,
        habitats=habitats,
        palette=synthvoc_palette(cfg['num_classes']),
        class_designs=[d.to_meta(habitats) for d in designs],
        splits=dict(train=cfg['num_train'], val=cfg['num_val']),
        num_ood=cfg['num_ood'],
        wsol=wsol_meta)
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, sort_keys=True, indent=2)
        f.write('\n')

    fractions = np.asarray(stats['fractions'] or [0.0])
    images = max(stats['images'], 1)
    return dict(
        out_dir=out_dir,
        seed=seed,
        generator_version=GENERATOR_VERSION,
        splits=dict(train=cfg['num_train'], val=cfg['num_val']),
        num_objects=num_objects,
        num_ood=cfg['num_ood'],
        wsol_images=wsol_meta['num_images'],
        emblem_fraction=dict(
            min=round(float(fractions.min()), 4),
            mean=round(float(fractions.mean()), 4),
            max=round(float(fractions.max()), 4)),
        habitat_cooccurrence=round(stats['habitat'] / images, 4),
        multi_class_fraction=round(stats['multi'] / images, 4),
        repeated_class_fraction=round(stats['repeated'] / images, 4),
        seconds=round(time.perf_counter() - start, 2))


# --------------------------------------------------------------------------
# Knobs
# --------------------------------------------------------------------------
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


def _prepare_out_dir(out_dir: str, overwrite: bool) -> None:
    if not osp.isdir(out_dir) or not os.listdir(out_dir):
        os.makedirs(out_dir, exist_ok=True)
        return
    if not overwrite:
        raise FileExistsError(
            f'{out_dir} is not empty; pass overwrite=True (--overwrite) to '
            'replace a previous SynthVOC output')
    if not osp.isfile(osp.join(out_dir, 'meta.json')):
        raise FileExistsError(
            f'{out_dir} is not empty and holds no SynthVOC meta.json; '
            'refusing to overwrite it')
    for name in ('JPEGImages', 'SegmentationClass', 'SegmentationObject',
                 'SegmentationEmblem', 'Annotations', 'ImageSets',
                 'annotations', 'OoD', 'wsol'):
        shutil.rmtree(osp.join(out_dir, name), ignore_errors=True)
    for name in ('meta.json', 'ood_list.txt'):
        if osp.isfile(osp.join(out_dir, name)):
            os.remove(osp.join(out_dir, name))


# --------------------------------------------------------------------------
# Class designs
# --------------------------------------------------------------------------
def _emblem_code(index: int) -> Tuple[int, int, int]:
    """Map a class index to distinct (hue, shape, pattern) indices.

    The map is a bijection of ``0..359`` onto the 12 x 6 x 5 combinations;
    consecutive codes always differ in hue and shape and mostly in pattern.
    """
    a = index % 12
    b = (index // 12) % 6
    c = (index // 72) % 5
    return _HUE_ORDER[a], (a + b) % 6, (a + b + c) % 5


def _class_designs(names: Sequence[str],
                   first_code: int = 0) -> List[_ClassDesign]:
    """Design class ``k``: emblem code ``first_code + k``, habitat ``k``."""
    designs = []
    for k, name in enumerate(names):
        code = first_code + k
        hue, shape, pattern = _emblem_code(code)
        primary = _hsv(_HUES[hue][1] / 360.0, 0.95, 0.95)
        # Alternate light and dark secondaries so patterns read on any hue.
        secondary = (
            np.array([0.97, 0.97, 0.97], np.float32)
            if code % 2 == 0 else np.array([0.08, 0.08, 0.1], np.float32))
        designs.append(
            _ClassDesign(
                name=name,
                habitat=k,
                emblem_rgb=primary,
                emblem_rgb2=secondary,
                emblem_shape=_EMBLEM_SHAPES[shape],
                emblem_pattern=_EMBLEM_PATTERNS[pattern],
                body_texture=code % len(_BODY_TEXTURES)))
    return designs


def _wsol_class_names(num_classes: int) -> List[str]:
    names = []
    for k in range(num_classes):
        hue, shape, pattern = _emblem_code(_WSOL_FIRST_CODE + k)
        names.append(f'{_HUES[hue][0]}_{_PATTERN_ADJECTIVES[pattern]}_'
                     f'{_EMBLEM_SHAPES[shape].capitalize()}')
    return names


def _habitat_name(index: int) -> str:
    if index < len(SYNTHVOC_DEFAULT_HABITATS):
        return SYNTHVOC_DEFAULT_HABITATS[index]
    return f'habitat{index + 1:02d}'


# --------------------------------------------------------------------------
# Texture primitives
# --------------------------------------------------------------------------
def _rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed, _STREAMS[stream], *index]))


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(
        colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0),
                            min(max(v, 0.0), 1.0)), np.float32)


def _grid(height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:height, 0:width]
    return yy.astype(np.float32), xx.astype(np.float32)


def _rotate(yy: np.ndarray, xx: np.ndarray,
            theta: float) -> Tuple[np.ndarray, np.ndarray]:
    c, s = math.cos(theta), math.sin(theta)
    return xx * c + yy * s, -xx * s + yy * c


def _soft(x: np.ndarray, gain: float = 2.0) -> np.ndarray:
    """Map a signed field to [0, 1] with a narrow anti-aliased transition."""
    return np.clip(0.5 + gain * x, 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, height: int, width: int,
                  cell_y: float, cell_x: Optional[float] = None) -> np.ndarray:
    """Value noise in about [0, 1] with features of ``cell`` pixels."""
    cell_x = cell_y if cell_x is None else cell_x
    rows = max(2, int(height / cell_y) + 2)
    cols = max(2, int(width / cell_x) + 2)
    coarse = rng.random((rows, cols), dtype=np.float32)
    fine = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
    return np.clip(np.asarray(fine), 0.0, 1.0)


def _mix(t: np.ndarray, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    return c1 * (1.0 - t[..., None]) + c2 * t[..., None]


def _texture(kind: str, rng: np.random.Generator, yy: np.ndarray,
             xx: np.ndarray) -> np.ndarray:
    """Return a [0, 1] weight map of a body texture over the grid."""
    theta = rng.uniform(0, math.pi)
    period = rng.uniform(5.0, 12.0)
    phase = rng.uniform(0, 2 * math.pi)
    u, v = _rotate(yy, xx, theta)
    two_pi = 2 * math.pi
    if kind == 'plain':
        return 0.35 * _smooth_noise(rng, *yy.shape, 2 * period)
    if kind == 'stripes':
        return _soft(np.sin(two_pi * u / period + phase))
    if kind == 'checker':
        return _soft(
            np.sin(math.pi * u / period + phase) *
            np.sin(math.pi * v / period))
    if kind == 'dots':
        radius = period * rng.uniform(0.2, 0.32)
        du = np.mod(u + phase, period) - period / 2
        dv = np.mod(v, period) - period / 2
        return _soft(radius - np.sqrt(du * du + dv * dv), 0.7)
    if kind == 'waves':
        warp = 0.6 * period * np.sin(two_pi * v / (2.5 * period))
        return _soft(np.sin(two_pi * (u + warp) / period + phase))
    if kind == 'speckle':
        return _soft(_smooth_noise(rng, *yy.shape, 0.6 * period) - 0.5, 4.0)
    if kind == 'rings':
        cy = rng.uniform(0, yy.shape[0])
        cx = rng.uniform(0, yy.shape[1])
        rho = np.sqrt((yy - cy)**2 + (xx - cx)**2)
        return _soft(np.sin(two_pi * rho / period + phase))
    if kind == 'hatch':
        lines_u = np.sin(two_pi * u / period + phase) - 0.6
        lines_v = np.sin(two_pi * v / period) - 0.6
        return _soft(np.maximum(lines_u, lines_v), 3.0)
    raise ValueError(f'unknown texture {kind!r}')


def _habitat(index: int, rng: np.random.Generator, height: int,
             width: int) -> np.ndarray:
    """Render habitat ``index`` (named ones first, then procedural)."""
    yy, xx = _grid(height, width)
    theta = rng.uniform(0, math.pi)
    u, v = _rotate(yy, xx, theta)
    light = 0.9 + 0.2 * _smooth_noise(rng, height, width, 48)
    name = _habitat_name(index)
    if name == 'rail':
        gravel = _smooth_noise(rng, height, width, 1.5)
        img = _mix(gravel, np.array([0.36, 0.34, 0.31], np.float32),
                   np.array([0.58, 0.55, 0.5], np.float32))
        # Sleepers across the track, two steel rails along it.
        centre = rng.uniform(-0.3, 0.3) * min(height, width) + (
            xx.mean() * math.cos(theta) + yy.mean() * math.sin(theta))
        gauge = rng.uniform(0.12, 0.2) * min(height, width)
        along = u - centre
        spacing = rng.uniform(9.0, 14.0)
        sleeper = (np.abs(along) < 1.6 * gauge) & (
            np.mod(v, spacing) < spacing * 0.4)
        img[sleeper] = np.array([0.38, 0.24, 0.13], np.float32)
        rail = np.minimum(np.abs(along - gauge), np.abs(along + gauge)) < 1.3
        img[rail] = np.array([0.78, 0.79, 0.82], np.float32)
    elif name == 'water':
        warp = 3.0 * np.sin(2 * math.pi * u / rng.uniform(25, 40))
        ripples = _soft(np.sin(2 * math.pi * (v + warp) / rng.uniform(6, 10)),
                        0.8)
        img = _mix(ripples, np.array([0.08, 0.27, 0.5], np.float32),
                   np.array([0.22, 0.48, 0.72], np.float32))
        glint = _smooth_noise(rng, height, width, 3.0) > 0.85
        img[glint] = np.array([0.75, 0.88, 0.95], np.float32)
    elif name == 'sky':
        ramp = (yy / max(height - 1, 1))[..., None]
        img = (1 - ramp) * np.array([0.4, 0.62, 0.9], np.float32) + (
            ramp * np.array([0.78, 0.87, 0.97], np.float32))
        cloud = _soft(_smooth_noise(rng, height, width, 22) - 0.62, 5.0)
        img = _mix(cloud, img, np.array([0.97, 0.97, 0.98], np.float32))
    elif name == 'grass':
        blades = _smooth_noise(rng, height, width, 7.0, 1.5)
        img = _mix(blades, np.array([0.14, 0.36, 0.09], np.float32),
                   np.array([0.42, 0.66, 0.22], np.float32))
    elif name == 'sand':
        dunes = _soft(np.sin(2 * math.pi * u / rng.uniform(20, 32)), 0.5)
        grain = _smooth_noise(rng, height, width, 1.2)
        img = _mix(0.7 * dunes + 0.3 * grain,
                   np.array([0.72, 0.57, 0.36], np.float32),
                   np.array([0.9, 0.78, 0.55], np.float32))
    elif name == 'floor':
        plank_w = rng.uniform(11.0, 17.0)
        plank = np.floor(u / plank_w).astype(np.int64)
        shade = rng.uniform(0.8, 1.15, size=int(plank.max() - plank.min()) + 1)
        base = np.array([0.55, 0.36, 0.2], np.float32)
        grain = 0.08 * np.sin(2 * math.pi * v / 23.0 +
                              6.0 * _smooth_noise(rng, height, width, 9))
        img = base * (shade[plank - plank.min()] + grain)[..., None]
        joint = np.mod(u, plank_w) < 1.0
        img[joint] *= 0.55
    else:
        # Procedural habitats: a fixed muted colour pair and texture kind per
        # index, random phases per image.
        hue = (index * 0.618034) % 1.0
        c1 = _hsv(hue, 0.45, 0.45)
        c2 = _hsv(hue + 0.06, 0.3, 0.75)
        kind = ('speckle', 'waves', 'stripes', 'checker')[index % 4]
        scale = 1.8 if kind in ('waves', 'stripes', 'checker') else 1.0
        t = _texture(kind, rng, yy / scale, xx / scale)
        img = _mix(t, c1, c2)
    return img.astype(np.float32) * light[..., None]


def _neutral_background(rng: np.random.Generator, height: int,
                        width: int) -> np.ndarray:
    """A low-saturation background of no class."""
    hue = rng.uniform(0, 1)
    c1 = _hsv(hue, rng.uniform(0.0, 0.15), rng.uniform(0.3, 0.6))
    c2 = _hsv(hue + rng.uniform(-0.1, 0.1), rng.uniform(0.0, 0.15),
              rng.uniform(0.55, 0.9))
    t = _smooth_noise(rng, height, width, rng.uniform(12, 40))
    return _mix(t, c1, c2)


# --------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------
def _silhouette(kind: str, rng: np.random.Generator, u: np.ndarray,
                v: np.ndarray, a: float, b: float) -> np.ndarray:
    """Rasterise a silhouette with semi-axes ``a`` >= ``b`` in (u, v)."""
    if kind == 'ellipse':
        return (u / a)**2 + (v / b)**2 <= 1.0
    if kind == 'superellipse':
        p = rng.uniform(3.0, 5.0)
        return np.abs(u / a)**p + np.abs(v / b)**p <= 1.0
    if kind == 'rounded_rect':
        r = rng.uniform(0.2, 0.5) * b
        qu = np.abs(u) - (a - r)
        qv = np.abs(v) - (b - r)
        outside = np.hypot(np.maximum(qu, 0), np.maximum(qv, 0))
        return outside + np.minimum(np.maximum(qu, qv), 0) <= r
    if kind == 'blob':
        amps = rng.uniform(0.0, 0.12, size=3)
        phases = rng.uniform(0, 2 * math.pi, size=3)
        su, sv = u / a, v / b
        angle = np.arctan2(sv, su)
        radius = np.ones_like(su)
        for k, (amp, ph) in enumerate(zip(amps, phases), start=2):
            radius += amp * np.cos(k * angle + ph)
        return np.hypot(su, sv) <= radius / (1.0 + amps.sum())
    if kind == 'twin':
        # A body and a smaller head: a silhouette with a part structure.
        body = ((u + 0.25 * a) / (0.75 * a))**2 + (v / b)**2 <= 1.0
        head_v = rng.uniform(-0.3, 0.3) * b
        head = ((u - 0.55 * a) / (0.45 * a))**2 + (
            (v - head_v) / (0.7 * b))**2 <= 1.0
        return body | head
    raise ValueError(f'unknown silhouette {kind!r}')


def _emblem_level(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Degree-1 homogeneous gauge of an emblem shape (inside where <= 1)."""
    rho = np.hypot(u, v)
    if shape == 'disc':
        return rho
    if shape == 'diamond':
        return np.abs(u) + np.abs(v)
    if shape in ('triangle', 'hexagon'):
        n = 3 if shape == 'triangle' else 6
        sector = 2 * math.pi / n
        angle = np.mod(np.arctan2(v, u), sector) - sector / 2
        return rho * np.cos(angle) / math.cos(math.pi / n)
    if shape == 'flower':
        return rho / (0.62 + 0.38 * np.cos(5 * np.arctan2(v, u)))
    if shape == 'cross':
        au, av = np.abs(u), np.abs(v)
        return np.maximum(np.minimum(au, av) / _CROSS_ARM, np.maximum(au, av))
    raise ValueError(f'unknown emblem shape {shape!r}')


def _emblem_pattern(pattern: str, u: np.ndarray, v: np.ndarray,
                    level: np.ndarray) -> np.ndarray:
    """Secondary-colour weight of an emblem pattern in unit coordinates."""
    if pattern == 'stripes':
        return _soft(np.sin(2.5 * math.pi * u), 1.5)
    if pattern == 'dots':
        du = np.mod(u + 0.35, 0.7) - 0.35
        dv = np.mod(v + 0.35, 0.7) - 0.35
        return _soft(0.2 - np.hypot(du, dv), 6.0)
    if pattern == 'checker':
        return _soft(np.sin(2 * math.pi * u) * np.sin(2 * math.pi * v), 1.5)
    if pattern == 'rings':
        return _soft(np.sin(3.2 * math.pi * level), 1.5)
    if pattern == 'bordered':
        return _soft(level - 0.62, 8.0)
    raise ValueError(f'unknown emblem pattern {pattern!r}')


def _erode4(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1)
    return (mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2]
            & padded[1:-1, 2:])


def _void_band(instances: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` px inside an object outline (not the border).

    Args:
        instances (np.ndarray): ``(H, W)`` instance map, 0 = background.
        width (int): Band width in pixels.

    Returns:
        np.ndarray: Boolean ``(H, W)`` mask of the void band.
    """
    band = np.zeros(instances.shape, bool)
    current = instances.astype(np.int32)
    for _ in range(width):
        # Edge padding: the image border is not an outline.
        p = np.pad(current, 1, mode='edge')
        c = p[1:-1, 1:-1]
        edge = ((p[:-2, 1:-1] != c) | (p[2:, 1:-1] != c) |
                (p[1:-1, :-2] != c) | (p[1:-1, 2:] != c)) & (c > 0)
        band |= edge
        current = np.where(edge, -1, current)
    return band


# --------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------
def _image_size(rng: np.random.Generator, cfg: dict) -> Tuple[int, int]:
    low, high = cfg['image_size']
    height, width = rng.integers(low, high + 1, size=2)
    return int(height), int(width)


def _overlap(shape: Tuple[int, int], y0: int, x0: int, height: int,
             width: int) -> Tuple[Tuple[slice, slice], Tuple[slice, slice]]:
    """Slices of the image and of a local crop at (y0, x0) that overlap."""
    h, w = shape
    ys, xs = max(y0, 0), max(x0, 0)
    ye, xe = max(min(y0 + h, height), ys), max(min(x0 + w, width), xs)
    return ((slice(ys, ye), slice(xs, xe)),
            (slice(ys - y0, ye - y0), slice(xs - x0, xe - x0)))


def _paste(local: np.ndarray, y0: int, x0: int, height: int,
           width: int) -> np.ndarray:
    """Place a local boolean crop at (y0, x0) on an empty (H, W) canvas."""
    canvas = np.zeros((height, width), bool)
    image_part, local_part = _overlap(local.shape, y0, x0, height, width)
    canvas[image_part] = local[local_part]
    return canvas


def _sample_object(rng: np.random.Generator, label: int, design: _ClassDesign,
                   height: int, width: int, cfg: dict) -> Optional[_Object]:
    """Draw one object's geometry; None when the draw is not usable."""
    extent = rng.uniform(*cfg['object_scale']) * min(height, width)
    a = extent / 2
    b = a * rng.uniform(0.45, 1.0)
    kind = _SILHOUETTES[int(rng.integers(len(_SILHOUETTES)))]
    theta = rng.uniform(0, 2 * math.pi)
    cy = rng.uniform(0.05, 0.95) * height
    cx = rng.uniform(0.05, 0.95) * width
    half = int(math.ceil(a)) + 2
    y0, x0 = int(math.floor(cy)) - half, int(math.floor(cx)) - half
    yy, xx = _grid(2 * half + 1, 2 * half + 1)
    u, v = _rotate(yy + (y0 - cy), xx + (x0 - cx), theta)
    mask = _silhouette(kind, rng, u, v, a, b)
    area = int(mask.sum())
    if area < _MIN_OBJECT_PX:
        return None
    inside = np.zeros_like(mask)
    inside[max(-y0, 0):height - y0, max(-x0, 0):width - x0] = True
    in_image = mask & inside
    if in_image.sum() < _MIN_IN_IMAGE * area:
        return None

    # Emblem: one or more equal copies (parts) sharing the drawn fraction of
    # the object area; bisect the scale whose pixel count hits one share
    # (the hull only sizes the template grid).
    min_parts, max_parts = cfg['emblem_parts']
    num_parts = min_parts if min_parts == max_parts else int(
        rng.integers(min_parts, max_parts + 1))
    target = rng.uniform(*cfg['emblem_area']) * area / num_parts
    phi = rng.uniform(0, 2 * math.pi)
    shape = design.emblem_shape
    hull = _EMBLEM_HULL[shape]
    r_max = math.sqrt(area)
    tpl_half = int(math.ceil(r_max * hull)) + 1
    ty, tx = _grid(2 * tpl_half + 1, 2 * tpl_half + 1)
    eu, ev = _rotate(ty - tpl_half, tx - tpl_half, phi)
    level = _emblem_level(shape, eu, ev)
    low, high = 0.0, r_max
    for _ in range(20):
        mid = (low + high) / 2
        if (level <= mid).sum() < target:
            low = mid
        else:
            high = mid
    radius = high
    count = int((level <= radius).sum()) * num_parts
    lo_frac, hi_frac = cfg['emblem_area']
    if not lo_frac * area <= count <= hi_frac * area:
        return None
    # Feasible centres: a part grown by a guard ring (void band plus one
    # body pixel) must lie inside the visible object and off the earlier
    # parts; the forbidden-pixel count under the guard is an FFT
    # correlation.
    r_int = int(math.ceil(radius * hull)) + 1
    window = (level <= radius)[tpl_half - r_int:tpl_half + r_int + 1,
                               tpl_half - r_int:tpl_half + r_int + 1]
    g_int = int(math.ceil(cfg['void_width'] + 1))
    guard = distance_transform_edt(~np.pad(window, g_int)) <= (
        cfg['void_width'] + 1)
    reach = r_int + g_int
    forbidden = ~in_image
    parts, centres = [], []
    for _ in range(num_parts):
        outside = np.pad(forbidden, reach, constant_values=True)
        hits = fftconvolve(
            outside.astype(np.float64), guard[::-1, ::-1].astype(np.float64),
            mode='valid')
        feasible = np.flatnonzero(hits < 0.5)
        if feasible.size == 0:
            return None
        ey, ex = np.unravel_index(
            feasible[int(rng.integers(feasible.size))], mask.shape)
        # The window's empty corners may overhang the crop; paste clips them.
        part = _paste(window, int(ey) - r_int, int(ex) - r_int, *mask.shape)
        parts.append(part)
        centres.append((int(ey), int(ex)))
        forbidden = forbidden | part
    emblem_full = _paste(np.logical_or.reduce(parts), y0, x0, height, width)
    full = _paste(mask, y0, x0, height, width)
    obj = _Object(
        label=label,
        y0=y0,
        x0=x0,
        mask=mask,
        extent=extent,
        area=area,
        emblem_area=count,
        truncated=bool(in_image.sum() < area),
        emblem_parts=parts,
        emblem_centres=centres,
        emblem_phi=phi,
        emblem_radius=radius,
        full=full,
        emblem_full=emblem_full,
        visible=full.copy(),
        emblem_visible=emblem_full.copy())
    return obj


def _place(objects: List[_Object], new: _Object) -> bool:
    """Add ``new`` on top if every earlier object stays visible enough."""
    keep = ~new.full
    for obj in objects:
        if (obj.visible & keep).sum() < _MIN_VISIBLE * obj.area:
            return False
        if (obj.emblem_visible
                & keep).sum() < _MIN_EMBLEM_VISIBLE * obj.emblem_area:
            return False
    for obj in objects:
        obj.visible &= keep
        obj.emblem_visible &= keep
    objects.append(new)
    return True


def _paint_object(rng: np.random.Generator, obj: _Object,
                  design: _ClassDesign, cfg: dict) -> np.ndarray:
    """Return the local RGB appearance of an object (body and emblem)."""
    h, w = obj.mask.shape
    yy, xx = _grid(h, w)
    if rng.random() < cfg['body_texture_bias']:
        texture = design.body_texture
    else:
        others = [
            t for t in range(len(_BODY_TEXTURES)) if t != design.body_texture
        ]
        texture = others[int(rng.integers(len(others)))]
    hue = rng.uniform(0, 1)
    sat = rng.uniform(0.15, 0.55)
    val = rng.uniform(0.35, 0.85)
    c1 = _hsv(hue, sat, val)
    c2 = _hsv(hue + rng.uniform(-0.08, 0.08), sat * rng.uniform(0.6, 1.2),
              val + rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.35))
    rgb = _mix(_texture(_BODY_TEXTURES[texture], rng, yy, xx), c1, c2)

    # Emblem colours jitter a little per instance (lighting, dye).
    hue_shift = rng.uniform(-0.015, 0.015)
    gain = rng.uniform(0.85, 1.1)
    primary = _shift_hue(design.emblem_rgb, hue_shift) * gain
    secondary = design.emblem_rgb2 * gain
    for part, (cy, cx) in zip(obj.emblem_parts, obj.emblem_centres):
        eu, ev = _rotate(yy - cy, xx - cx, obj.emblem_phi)
        eu, ev = eu / obj.emblem_radius, ev / obj.emblem_radius
        level = _emblem_level(design.emblem_shape, eu, ev)
        weight = _emblem_pattern(design.emblem_pattern, eu, ev, level)
        rgb[part] = _mix(weight, primary, secondary)[part]

    # Directional shading and a darker outline give the object volume.
    su, _ = _rotate(yy - h / 2, xx - w / 2, rng.uniform(0, 2 * math.pi))
    shading = 1.0 + 0.18 * np.clip(su / (obj.extent / 2), -1, 1)
    rgb *= shading[..., None]
    outline = obj.mask & ~_erode4(obj.mask)
    rgb[outline] *= 0.7
    return rgb


def _shift_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in rgb))
    return _hsv(h + shift, s, v)


def _finish(rng: np.random.Generator, img: np.ndarray,
            cfg: dict) -> np.ndarray:
    """Colour jitter, blur and noise; returns uint8 RGB."""
    gains = rng.uniform(0.92, 1.08, size=3).astype(np.float32)
    img = img * gains + np.float32(rng.uniform(-0.04, 0.04))
    out = Image.fromarray(
        np.round(np.clip(img, 0, 1) * 255).astype(np.uint8))
    radius = rng.uniform(0.0, cfg['max_blur'])
    if radius > 0.05:
        out = out.filter(ImageFilter.GaussianBlur(radius))
    noisy = np.asarray(out, np.float32) + rng.normal(
        0.0, cfg['noise_std'], size=(out.height, out.width, 3))
    return np.round(np.clip(noisy, 0, 255)).astype(np.uint8)


@dataclass
class _Scene:
    image: np.ndarray
    objects: List[_Object]
    background: Optional[int]


def _sample_scene(rng: np.random.Generator, designs: List[_ClassDesign],
                  cfg: dict, labels: Optional[List[int]] = None) -> _Scene:
    """Draw the objects, the background and the pixels of one image."""
    height, width = _image_size(rng, cfg)
    num_classes = len(designs)
    if labels is None:
        count = int(rng.integers(cfg['objects_per_image'][0],
                                 cfg['objects_per_image'][1] + 1))
        labels = [int(rng.integers(num_classes))]
        for _ in range(count - 1):
            others = [c for c in range(num_classes) if c not in labels]
            if not others or rng.random() < cfg['repeat_class_prob']:
                labels.append(labels[int(rng.integers(len(labels)))])
            else:
                labels.append(others[int(rng.integers(len(others)))])
    objects: List[_Object] = []
    for j, label in enumerate(labels):
        tries = _FIRST_PLACEMENT_TRIES if j == 0 else _PLACEMENT_TRIES
        for _ in range(tries):
            obj = _sample_object(rng, label, designs[label], height, width,
                                 cfg)
            if obj is not None and _place(objects, obj):
                break
        else:
            if j == 0:
                raise RuntimeError(
                    'could not place an object with its emblem; relax the '
                    'object_scale / emblem_area knobs')

    present = sorted({obj.label for obj in objects})
    if rng.random() < cfg['habitat_prob']:
        background = designs[present[int(rng.integers(len(present)))]].habitat
    else:
        others = sorted({d.habitat
                         for d in designs} -
                        {designs[c].habitat
                         for c in present})
        if others and rng.random() < 0.5:
            background = others[int(rng.integers(len(others)))]
        else:
            background = None
    if background is None:
        img = _neutral_background(rng, height, width)
    else:
        img = _habitat(background, rng, height, width)
    for obj in objects:
        rgb = _paint_object(rng, obj, designs[obj.label], cfg)
        canvas, local = _overlap(obj.mask.shape, obj.y0, obj.x0, height,
                                 width)
        sel = obj.mask[local]
        img[canvas][sel] = rgb[local][sel]
    return _Scene(_finish(rng, img, cfg), objects, background)


# --------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------
def _save_jpg(path: str, image: np.ndarray) -> None:
    Image.fromarray(image).save(path, format='JPEG', **_JPEG_KWARGS)


def _save_png(path: str, label: np.ndarray, palette: Optional[bytes]) -> None:
    img = Image.fromarray(label.astype(np.uint8))
    if palette is not None:
        img.putpalette(palette)
    img.save(path, format='PNG')


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w') as f:
        f.writelines(f'{line}\n' for line in lines)


def _bbox(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """0-based inclusive (xmin, ymin, xmax, ymax) of a non-empty mask."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])


def _voc_xml(image_id: str, height: int, width: int,
             objects: List[dict]) -> str:
    lines = [
        '<annotation>', '\t<folder>SynthVOC</folder>',
        f'\t<filename>{image_id}.jpg</filename>',
        '\t<source>', '\t\t<database>SynthVOC</database>', '\t</source>',
        '\t<size>', f'\t\t<width>{width}</width>',
        f'\t\t<height>{height}</height>', '\t\t<depth>3</depth>', '\t</size>',
        '\t<segmented>1</segmented>'
    ]
    for obj in objects:
        xmin, ymin, xmax, ymax = obj['bbox']
        lines += [
            '\t<object>', f'\t\t<name>{obj["name"]}</name>',
            '\t\t<pose>Unspecified</pose>',
            f'\t\t<truncated>{int(obj["truncated"])}</truncated>',
            f'\t\t<occluded>{int(obj["occluded"])}</occluded>',
            '\t\t<difficult>0</difficult>', '\t\t<bndbox>',
            f'\t\t\t<xmin>{xmin + 1}</xmin>', f'\t\t\t<ymin>{ymin + 1}</ymin>',
            f'\t\t\t<xmax>{xmax + 1}</xmax>', f'\t\t\t<ymax>{ymax + 1}</ymax>',
            '\t\t</bndbox>', '\t</object>'
        ]
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'


def _rle(mask: np.ndarray) -> Tuple[dict, float, List[float]]:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    area = float(mask_utils.area(rle))
    bbox = [float(x) for x in mask_utils.toBbox(rle)]
    rle['counts'] = rle['counts'].decode('ascii')
    return rle, area, bbox


def _write_voc_split(out_dir: str, split: str, seed: int, cfg: dict,
                     designs: List[_ClassDesign], classes: List[str],
                     palette: bytes, stats: dict) -> Tuple[int, List[str]]:
    """Generate one split; returns its number of objects and its ids."""
    ids, images, annotations = [], [], []
    for index in range(cfg[f'num_{split}']):
        image_id = f'sv_{split}_{index + 1:06d}'
        scene = _sample_scene(_rng(seed, split, index), designs, cfg)
        height, width = scene.image.shape[:2]
        instances = np.zeros((height, width), np.uint8)
        for j, obj in enumerate(scene.objects, start=1):
            instances[obj.visible] = j
        void = _void_band(instances, cfg['void_width'])
        semantic = np.zeros_like(instances)
        emblems = np.zeros_like(instances)
        xml_objects = []
        for j, obj in enumerate(scene.objects, start=1):
            semantic[obj.visible] = obj.label + 1
            emblems[obj.emblem_visible & ~void] = j
            rle, area, bbox = _rle(obj.visible)
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=index + 1,
                    category_id=obj.label + 1,
                    segmentation=rle,
                    area=area,
                    bbox=bbox,
                    iscrowd=0))
            xml_objects.append(
                dict(
                    name=classes[obj.label],
                    bbox=_bbox(obj.visible),
                    truncated=obj.truncated,
                    occluded=bool((obj.full & ~obj.visible).any())))
            stats['fractions'].append(obj.emblem_area / obj.area)
        instances[void] = 255
        semantic[void] = 255

        present = {obj.label for obj in scene.objects}
        stats['images'] += 1
        stats['habitat'] += scene.background in {
            designs[c].habitat
            for c in present
        }
        stats['multi'] += len(present) > 1
        stats['repeated'] += len(present) < len(scene.objects)

        _save_jpg(osp.join(out_dir, 'JPEGImages', f'{image_id}.jpg'),
                  scene.image)
        _save_png(
            osp.join(out_dir, 'SegmentationClass', f'{image_id}.png'),
            semantic, palette)
        _save_png(
            osp.join(out_dir, 'SegmentationObject', f'{image_id}.png'),
            instances, palette)
        _save_png(
            osp.join(out_dir, 'SegmentationEmblem', f'{image_id}.png'),
            emblems, palette)
        with open(osp.join(out_dir, 'Annotations', f'{image_id}.xml'),
                  'w') as f:
            f.write(_voc_xml(image_id, height, width, xml_objects))
        ids.append(image_id)
        images.append(
            dict(
                id=index + 1,
                file_name=f'{image_id}.jpg',
                height=height,
                width=width))
    for sub in ('Segmentation', 'Main'):
        _write_lines(osp.join(out_dir, 'ImageSets', sub, f'{split}.txt'), ids)
    coco = dict(
        info=dict(
            description=f'SynthVOC {split}', version=GENERATOR_VERSION),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[
            dict(id=k + 1, name=name) for k, name in enumerate(classes)
        ])
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump(coco, f)
    return len(annotations), ids


def _write_wsol(root: str, seed: int, cfg: dict,
                designs: List[_ClassDesign], names: List[str]) -> dict:
    """Write the CUB-200-2011 style WSOL set; returns its meta entry."""
    per_class = cfg['wsol_images_per_class']
    num_train_per_class = int(round(cfg['wsol_train_fraction'] * per_class))
    images, labels, splits, boxes, folders = [], [], [], [], []
    image_id = 0
    for k, name in enumerate(names):
        folder = f'{k + 1:03d}.{name}'
        folders.append(f'{k + 1} {folder}')
        os.makedirs(osp.join(root, 'images', folder), exist_ok=True)
        os.makedirs(osp.join(root, 'masks', folder), exist_ok=True)
        for index in range(per_class):
            image_id += 1
            scene = _sample_scene(
                _rng(seed, 'wsol', k, index), designs, cfg, labels=[k])
            visible = scene.objects[0].visible
            stem = f'{folder}/{name}_{index + 1:04d}'
            _save_jpg(osp.join(root, 'images', f'{stem}.jpg'), scene.image)
            _save_png(
                osp.join(root, 'masks', f'{stem}.png'),
                visible.astype(np.uint8) * 255, None)
            xmin, ymin, xmax, ymax = _bbox(visible)
            images.append(f'{image_id} {stem}.jpg')
            labels.append(f'{image_id} {k + 1}')
            splits.append(f'{image_id} {int(index < num_train_per_class)}')
            boxes.append(f'{image_id} {xmin:.1f} {ymin:.1f} '
                         f'{xmax - xmin + 1:.1f} {ymax - ymin + 1:.1f}')
    _write_lines(osp.join(root, 'images.txt'), images)
    _write_lines(osp.join(root, 'image_class_labels.txt'), labels)
    _write_lines(osp.join(root, 'train_test_split.txt'), splits)
    _write_lines(osp.join(root, 'bounding_boxes.txt'), boxes)
    _write_lines(osp.join(root, 'classes.txt'), folders)
    return dict(
        num_classes=len(names),
        classes=list(names),
        images_per_class=per_class,
        num_images=image_id,
        num_train=num_train_per_class * len(names),
        num_test=(per_class - num_train_per_class) * len(names))
