# Copyright (c) mmwsss contributors. All rights reserved.
"""Saliency maps: one grey PNG per image, 0 (background) .. 255 (salient).

``<saliency_dir>/<stem>.png`` (``stem`` from :func:`sample_name`), the
layout of the saliency maps WSSS methods share for VOC (DRFI, PoolNet,
...) and what the SynthVOC generator writes with ``saliency=True``. Read by
:class:`mmwsss.LoadSaliencyMap`, always through this module.
"""
import os.path as osp
from typing import Any, Optional, Sequence

import numpy as np
from PIL import Image

from .atomic import atomic_write
from .naming import sample_file

SALIENCY_SUFFIX = '.png'


def saliency_path(saliency_dir: str, sample: Any) -> str:
    """Path of the saliency map of a sample.

    Args:
        saliency_dir (str): Folder of the saliency maps.
        sample (BaseDataElement | dict): See :func:`sample_name`.

    Returns:
        str: ``<saliency_dir>/<stem>.png``.
    """
    return sample_file(saliency_dir, sample, SALIENCY_SUFFIX)


def read_saliency_map(path: str,
                      image_size: Optional[Sequence[int]] = None
                      ) -> np.ndarray:
    """Read a saliency PNG as float32 in [0, 1] (value / 255).

    Grey (8-bit) PNGs are read as they are; RGB(A) ones, as some saliency
    models save them, must have equal colour channels.

    Args:
        path (str): The PNG file.
        image_size (Sequence[int], optional): (H, W) the map must have.
            Defaults to None (not checked).

    Returns:
        np.ndarray: float32 (H, W) saliency.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it cannot be decoded, is not 8-bit grey (or grey
            RGB), or does not have ``image_size``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Saliency map not found: {path}')
    try:
        with Image.open(path) as img:
            mode = img.mode
            saliency = np.asarray(img)
    except Exception as e:  # PIL raises several unrelated types
        raise ValueError(f'Cannot read saliency map {path}: {e}') from e
    if mode in ('RGB', 'RGBA'):
        colour = saliency[..., :3]
        if np.any(colour != colour[..., :1]):
            raise ValueError(f'Saliency map {path} is a colour image; '
                             'expected a grey one')
        saliency = colour[..., 0]
    elif mode != 'L':
        raise ValueError(f'Saliency map {path} must be an 8-bit grey PNG, '
                         f'got mode {mode}')
    if image_size is not None and saliency.shape != tuple(image_size):
        raise ValueError(
            f'Saliency map {path} is {saliency.shape[0]}x{saliency.shape[1]} '
            f'(HxW) but its image is {image_size[0]}x{image_size[1]}')
    return saliency.astype(np.float32) / 255.


def write_saliency_map(path: str, saliency: np.ndarray,
                       atomic: bool = True) -> None:
    """Save a (H, W) uint8 saliency map as a grey PNG.

    Args:
        path (str): Destination (``.png``).
        saliency (np.ndarray): uint8 (H, W) saliency, 0..255.
        atomic (bool): Write through a temporary file renamed into place;
            False writes in place (a fresh dataset folder). Defaults to True.

    Raises:
        ValueError: If ``saliency`` is not a 2-D uint8 array.
    """
    saliency = np.asarray(saliency)
    if saliency.ndim != 2 or saliency.dtype != np.uint8:
        raise ValueError(f'{path}: a saliency map is (H, W) uint8, got '
                         f'{saliency.dtype} {saliency.shape}')
    img = Image.fromarray(np.ascontiguousarray(saliency), mode='L')
    if atomic:
        atomic_write(path, lambda f: img.save(f, format='PNG'))
    else:
        img.save(path, format='PNG')
