# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC scene composition: objects, emblems, occlusion and pixels."""
import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
from scipy.ndimage import distance_transform_edt
from scipy.signal import fftconvolve

from .design import _BODY_TEXTURES, _ClassDesign, _hsv, _shift_hue
from .rendering import (_EMBLEM_HULL, _SILHOUETTES, _emblem_level,
                        _emblem_pattern, _erode4, _finish, _grid, _habitat,
                        _mix, _neutral_background, _rotate, _silhouette,
                        _texture)

# Integer stream tags of the seed sequence: an image's pixels depend only on
# (seed, stream, index), never on the size of the other splits.
# ``saliency`` draws the degradation of the optional saliency maps, apart
# from the scenes so that turning it on leaves every other output unchanged.
_STREAMS = dict(train=0, val=1, ood=2, wsol=3, saliency=4)

# Occlusion limits: every placed object keeps this much of its area and of
# its emblem visible, so that image labels stay recoverable.
_MIN_VISIBLE = 0.4
_MIN_EMBLEM_VISIBLE = 0.5
_MIN_IN_IMAGE = 0.6
_MIN_OBJECT_PX = 12
_PLACEMENT_TRIES = 12
_FIRST_PLACEMENT_TRIES = 200


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


@dataclass
class _Scene:
    image: np.ndarray
    objects: List[_Object]
    background: Optional[int]


def _rng(seed: int, stream: str, *index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed, _STREAMS[stream], *index]))


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
