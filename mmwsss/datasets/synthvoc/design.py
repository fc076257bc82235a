# Copyright (c) mmwsss contributors. All rights reserved.
"""SynthVOC class designs: names, habitats, palettes and emblem vocabulary.

Designs do not depend on the seed: a class's emblem (colour, shape, pattern),
habitat and preferred body texture follow from its index alone.
"""
import colorsys
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from mmwsss.fileio.label_map import voc_palette
from .knobs import SYNTHVOC_MAX_CLASSES, _check_int

SYNTHVOC_DEFAULT_CLASSES = ('train', 'boat', 'aeroplane', 'cow', 'camel',
                            'sofa')
SYNTHVOC_DEFAULT_HABITATS = ('rail', 'water', 'sky', 'grass', 'sand', 'floor')

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
# WSOL classes take emblem codes after every possible SynthVOC class, so the
# two sets never share an emblem.
_WSOL_FIRST_CODE = SYNTHVOC_MAX_CLASSES

_BODY_TEXTURES = ('plain', 'stripes', 'checker', 'dots', 'waves', 'speckle',
                  'rings', 'hatch')


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


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(
        colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0),
                            min(max(v, 0.0), 1.0)), np.float32)


def _shift_hue(rgb: np.ndarray, shift: float) -> np.ndarray:
    h, s, v = colorsys.rgb_to_hsv(*(float(c) for c in rgb))
    return _hsv(h + shift, s, v)
