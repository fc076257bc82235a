# Copyright (c) mmwsss contributors. All rights reserved.
"""Label maps as PNGs of class indices, with THE VOC palette.

Ground truth (VOC's ``SegmentationClass``), SynthVOC's generated maps, IR
labels and pseudo-masks all share this format: one uint8 index per pixel
(0 = background, ``k`` = class ``k``, 255 = ignore) in a palette PNG, so
they open like VOC's masks and read back as indices. Grey PNGs read the
same.
"""
import io
import os.path as osp

import numpy as np
from PIL import Image

from .atomic import atomic_write


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


_PNG_PALETTE = voc_palette(256).tobytes()


def read_index_png(path: str, what: str = 'Label map') -> np.ndarray:
    """The (H, W) indices of a palette or grey PNG (class labels, or the
    instance indices of VOC's ``SegmentationObject``).

    Args:
        path (str): The PNG file.
        what (str): What the file is, for the errors. Defaults to
            ``'Label map'``.

    Returns:
        np.ndarray: (H, W) array of the stored indices.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be decoded or has colour channels.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with Image.open(path) as img:
            indices = np.asarray(img)
    except Exception as e:  # PIL raises several unrelated types
        raise ValueError(f'Cannot read {what.lower()} {path}: {e}') from e
    if indices.ndim != 2:
        raise ValueError(f'{what} {path} must be a single-channel (palette '
                         f'or grey) PNG, got shape {indices.shape}')
    return indices


def read_label_map(path: str, num_classes: int) -> np.ndarray:
    """Read a label PNG (palette or grey indices) and validate its values.

    Args:
        path (str): The PNG file.
        num_classes (int): Number of foreground classes; valid values are
            ``0..num_classes`` and 255 (ignore).

    Returns:
        np.ndarray: uint8 (H, W) label map.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be decoded or holds out-of-range values.
    """
    label = read_index_png(path)
    values = np.unique(label)
    bad = values[(values > num_classes) & (values != 255)]
    if bad.size:
        raise ValueError(f'Label map {path} has values {bad.tolist()} outside '
                         f'0..{num_classes} and 255')
    return label.astype(np.uint8, copy=False)


def write_label_map(path: str,
                    label: np.ndarray,
                    palette: bool = True,
                    atomic: bool = True) -> None:
    """Save a (H, W) label map as a PNG of its indices.

    Args:
        path (str): Destination (``.png``).
        label (np.ndarray): Integer labels in 0..255 (255 = ignore).
        palette (bool): Store VOC's palette (a palette PNG that opens like
            VOC's masks); False stores a grey PNG. Defaults to True.
        atomic (bool): Write through a temporary file renamed into place
            (see :func:`atomic_write`), for jobs that may be killed; False
            writes in place, e.g. into a fresh dataset folder. Defaults to
            True.

    Raises:
        ValueError: If ``label`` is not 2-D or has values outside 0..255.
    """
    data = encode_label_map(label, palette, where=path)
    if atomic:
        atomic_write(path, lambda f: f.write(data))
    else:
        with open(path, 'wb') as f:
            f.write(data)


def encode_label_map(label: np.ndarray,
                     palette: bool = True,
                     where: str = 'label map') -> bytes:
    """The PNG bytes of a (H, W) label map (see :func:`write_label_map`).

    Args:
        label (np.ndarray): Integer labels in 0..255 (255 = ignore).
        palette (bool): Store VOC's palette. Defaults to True.
        where (str): What to name in errors. Defaults to ``'label map'``.

    Returns:
        bytes: The PNG file's bytes (the same labels give the same bytes).

    Raises:
        ValueError: If ``label`` is not 2-D or has values outside 0..255.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'{where}: a label map is (H, W), got shape '
                         f'{label.shape}')
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError(f'{where}: labels must lie in 0..255, got '
                         f'{label.min()}..{label.max()}')
    img = Image.fromarray(np.ascontiguousarray(label, dtype=np.uint8))
    if palette:
        img.putpalette(_PNG_PALETTE)
    buffer = io.BytesIO()
    img.save(buffer, format='PNG')
    return buffer.getvalue()
