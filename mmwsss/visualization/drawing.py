# Copyright (c) mmwsss contributors. All rights reserved.
"""Panels of a WSSS/WSOL sample: arrays in, RGB uint8 arrays out.

Every function takes the image as (H, W, 3) uint8 RGB and returns a new
image of the same size, so that panels line up side by side.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from mmwsss.fileio import voc_palette

IGNORE = 255
_PALETTE = voc_palette(256)


def _jet(values: np.ndarray) -> np.ndarray:
    """The jet colour map of values in [0, 1]: (..., 3) uint8."""
    values = np.clip(values, 0, 1)
    four = 4 * values
    rgb = np.stack([
        np.clip(np.minimum(four - 1.5, -four + 4.5), 0, 1),
        np.clip(np.minimum(four - 0.5, -four + 3.5), 0, 1),
        np.clip(np.minimum(four + 0.5, -four + 2.5), 0, 1)
    ], -1)
    return (rgb * 255).astype(np.uint8)


def _resize(array: np.ndarray, size_hw: Tuple[int, int],
            nearest: bool) -> np.ndarray:
    if tuple(array.shape[:2]) == tuple(size_hw):
        return array
    mode = Image.NEAREST if nearest else Image.BILINEAR
    if array.dtype == np.uint8:
        image = Image.fromarray(array)
    else:
        image = Image.fromarray(array.astype(np.float32), mode='F')
    return np.asarray(image.resize((size_hw[1], size_hw[0]), mode))


def blend(image: np.ndarray, colours: np.ndarray, alpha: float,
          where: Optional[np.ndarray] = None) -> np.ndarray:
    """``image`` with ``colours`` laid over it (only ``where``, if given)."""
    mixed = (image * (1 - alpha) + colours * alpha).astype(np.uint8)
    if where is None:
        return mixed
    return np.where(where[..., None], mixed, image)


def draw_heatmap(image: np.ndarray, score_map: np.ndarray,
                 alpha: float = 0.5) -> np.ndarray:
    """A score map (any size, normalised by its maximum) as a jet heat map
    over the image."""
    score_map = np.asarray(score_map, np.float32)
    peak = float(score_map.max()) if score_map.size else 0.0
    if peak > 0:
        score_map = score_map / peak
    score_map = _resize(score_map, image.shape[:2], nearest=False)
    return blend(image, _jet(score_map), alpha)


def draw_feature_map(values: np.ndarray,
                     size_hw: Tuple[int, int]) -> np.ndarray:
    """A map of values in [0, 1] (an attention or feature map) in the jet
    colours, enlarged to ``size_hw`` without interpolation, so that each
    cell of the map stays a visible block."""
    return _resize(_jet(np.asarray(values, np.float32)), size_hw,
                   nearest=True)


def draw_label_map(image: np.ndarray,
                   label: np.ndarray,
                   alpha: float = 0.6,
                   palette: Optional[np.ndarray] = None) -> np.ndarray:
    """A label map (0 background, k class k, 255 ignore) in the VOC colours
    over the image; background is left as it is, ignored pixels take VOC's
    void colour so the ignore band of IR labels shows."""
    palette = _PALETTE if palette is None else np.asarray(palette, np.uint8)
    label = _resize(np.asarray(label, np.uint8), image.shape[:2], True)
    colours = palette[np.minimum(label, len(palette) - 1)]
    colours[label == IGNORE] = _PALETTE[IGNORE]
    return blend(image, colours, alpha, where=label != 0)


def draw_instances(image: np.ndarray,
                   masks: Optional[np.ndarray] = None,
                   boxes: Optional[np.ndarray] = None,
                   labels: Optional[Sequence[int]] = None,
                   names: Optional[Sequence[str]] = None,
                   alpha: float = 0.5) -> np.ndarray:
    """Instance masks (each its own colour) and boxes with class names."""
    out = image.copy()
    count = len(masks) if masks is not None else (
        len(boxes) if boxes is not None else 0)
    for k in range(count):
        colour = _PALETTE[(k % 254) + 1]
        if masks is not None:
            mask = _resize(np.asarray(masks[k], np.uint8), image.shape[:2],
                           True).astype(bool)
            out = blend(out, np.broadcast_to(colour, out.shape), alpha, mask)
    if boxes is not None:
        title = None
        if labels is not None:
            title = [(names[int(c)] if names is not None
                      and int(c) < len(names) else str(int(c)))
                     for c in labels]
        out = draw_boxes(out, boxes, titles=title)
    return out


def draw_boxes(image: np.ndarray,
               boxes: np.ndarray,
               colour: Tuple[int, int, int] = (255, 64, 64),
               titles: Optional[Sequence[str]] = None,
               width: int = 2) -> np.ndarray:
    """Boxes ``(N, 4)`` x1, y1, x2, y2 in image pixels, with titles."""
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    for k, box in enumerate(np.asarray(boxes, np.float64).reshape(-1, 4)):
        x1, y1, x2, y2 = box.tolist()
        draw.rectangle([x1, y1, x2, y2], outline=colour, width=width)
        if titles is not None and k < len(titles):
            draw.text((x1 + 2, y1 + 1), titles[k], fill=colour)
    return np.asarray(pil)


def side_by_side(panels: List[Tuple[str, np.ndarray]],
                 title_height: int = 14,
                 gap: int = 4) -> np.ndarray:
    """Panels of equal height in one row, each under its title."""
    height = max(p.shape[0] for _, p in panels)
    width = sum(p.shape[1] for _, p in panels) + gap * (len(panels) - 1)
    canvas = Image.new('RGB', (width, height + title_height), (255, ) * 3)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for title, panel in panels:
        canvas.paste(Image.fromarray(panel), (x, title_height))
        draw.text((x + 2, 1), title, fill=(0, 0, 0))
        x += panel.shape[1] + gap
    return np.asarray(canvas)


def grid(panels: List[Tuple[str, np.ndarray]],
         columns: int,
         gap: int = 4) -> np.ndarray:
    """Titled panels in rows of ``columns`` (each row
    :func:`side_by_side`), the rows stacked on a white canvas."""
    rows = [
        side_by_side(panels[start:start + columns], gap=gap)
        for start in range(0, len(panels), columns)
    ]
    height = sum(r.shape[0] for r in rows) + gap * (len(rows) - 1)
    width = max(r.shape[1] for r in rows)
    canvas = np.full((height, width, 3), 255, np.uint8)
    y = 0
    for row in rows:
        canvas[y:y + row.shape[0], :row.shape[1]] = row
        y += row.shape[0] + gap
    return canvas
