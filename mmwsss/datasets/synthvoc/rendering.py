# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC drawing primitives.

Body textures, habitat backgrounds, object silhouettes, emblem shapes and
patterns, and the camera finish (colour jitter, blur, noise).
"""
import math
from typing import Optional, Tuple

import numpy as np
from PIL import Image, ImageFilter

from .design import _habitat_name, _hsv

_SILHOUETTES = ('ellipse', 'superellipse', 'rounded_rect', 'blob', 'twin')
# Circumradius of each emblem shape relative to its scale parameter.
_EMBLEM_HULL = dict(
    disc=1.0, diamond=1.0, triangle=1.0, flower=1.0, hexagon=1.0, cross=1.06)
_CROSS_ARM = 0.32


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
