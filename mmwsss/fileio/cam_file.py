# Copyright (c) mmwsss contributors. All rights reserved.
"""The CAM file: the class activation maps of one image.

Written by :class:`mmwsss.CAMWriter`, read by :class:`mmwsss.LoadCAMFile`
(the stages that start from CAMs: IR labels, random walks, seed scores) and
by the analysis tools, always through this module. The file is
``<cam_dir>/<stem>.npz`` (``stem`` from :func:`sample_name`), a compressed
archive without pickles holding:

- ``keys`` int64 (K,): 0-based classes of the maps (the image's labels);
- ``strided`` float32 (K, (H - 1) // 4 + 1, (W - 1) // 4 + 1): stride-4
  maps (what the IRNet random walk consumes);
- ``high_res`` float32 (K, H, W), optional: full-resolution maps (seeds, IR
  labels);
- ``scores`` float32 (num_classes,), optional: classification scores.

(H, W) is the original image size.
"""
import os.path as osp
import zipfile
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .atomic import load_npz, save_npz
from .naming import sample_file

CAM_SUFFIX = '.npz'
# Every array a CAM file may hold, in the order they are written.
CAM_ARRAYS = ('keys', 'strided', 'high_res', 'scores')
# The data-sample field of each array as mmwsss.LoadCAMFile loads it (the
# CAM classifiers predict keys and maps under the same names).
CAM_FIELDS = {name: 'cam_' + name for name in CAM_ARRAYS}
_MAPS = ('strided', 'high_res')


def cam_path(cam_dir: str, sample: Any) -> str:
    """Path of the CAM file of a sample.

    Args:
        cam_dir (str): Folder of the CAM files.
        sample (BaseDataElement | dict): See :func:`sample_name`.

    Returns:
        str: ``<cam_dir>/<stem>.npz``.
    """
    return sample_file(cam_dir, sample, CAM_SUFFIX)


def strided_map_size(image_size: Sequence[int]) -> Tuple[int, int]:
    """Size of the ``strided`` maps of an image of ``image_size`` (H, W)."""
    height, width = image_size
    return (height - 1) // 4 + 1, (width - 1) // 4 + 1


def _check_keys(path: str, keys: np.ndarray,
                num_classes: Optional[int]) -> None:
    if keys.ndim != 1 or not np.issubdtype(keys.dtype, np.integer):
        raise ValueError(f'CAM file {path}: keys must be a 1-D integer '
                         f'array, got {keys.dtype} {keys.shape}')
    if keys.size and keys.min() < 0:
        raise ValueError(f'CAM file {path}: keys must be 0-based class '
                         f'indices, got {keys.tolist()}')
    if num_classes is not None and keys.size and keys.max() >= num_classes:
        raise ValueError(f'CAM file {path}: keys {keys.tolist()} name classes '
                         f'beyond the {num_classes} of the dataset')
    if np.unique(keys).size != keys.size:
        raise ValueError(f'CAM file {path}: keys {keys.tolist()} repeat a '
                         'class')


def _check(path: str,
           arrays: Dict[str, np.ndarray],
           image_size: Optional[Sequence[int]],
           num_classes: Optional[int] = None) -> None:
    """Raise a ``ValueError`` naming ``path`` if the arrays are malformed.

    Maps must be finite and non-negative: the stages raise them to powers
    and normalise them, where one NaN or negative value relabels the whole
    image.
    """
    keys = arrays.get('keys')
    if keys is not None:
        _check_keys(path, keys, num_classes)
    for name in _MAPS:
        maps = arrays.get(name)
        if maps is None:
            continue
        if maps.ndim != 3 or not np.issubdtype(maps.dtype, np.floating):
            raise ValueError(f'CAM file {path}: {name} must be a (K, h, w) '
                             f'float array, got {maps.dtype} {maps.shape}')
        if keys is not None and maps.shape[0] != keys.shape[0]:
            raise ValueError(f'CAM file {path}: {name} has {maps.shape[0]} '
                             f'maps for {keys.shape[0]} keys')
        if maps.size and not np.isfinite(maps).all():
            raise ValueError(f'CAM file {path}: {name} holds NaN or Inf '
                             'values')
        if maps.size and maps.min() < 0:
            raise ValueError(f'CAM file {path}: {name} holds negative values '
                             f'(min {maps.min():.4g}); CAMs are '
                             'non-negative (after ReLU)')
    if image_size is None:
        return
    expected = dict(
        high_res=tuple(image_size), strided=strided_map_size(image_size))
    for name, size in expected.items():
        if name in arrays and tuple(arrays[name].shape[1:]) != size:
            raise ValueError(
                f'CAM file {path}: {name} maps are '
                f'{tuple(arrays[name].shape[1:])} but its image '
                f'{tuple(image_size)} needs {size}; were the CAMs written '
                'for another image or size?')


def write_cam_file(path: str,
                   keys: np.ndarray,
                   strided: np.ndarray,
                   high_res: Optional[np.ndarray] = None,
                   scores: Optional[np.ndarray] = None) -> None:
    """Write a CAM file atomically (the same arrays give the same bytes).

    Args:
        path (str): Destination (``.npz``).
        keys (np.ndarray): (K,) 0-based classes.
        strided (np.ndarray): (K, h, w) stride-4 maps.
        high_res (np.ndarray, optional): (K, H, W) full-resolution maps.
        scores (np.ndarray, optional): (num_classes,) scores.

    Raises:
        ValueError: If the arrays do not fit together.
    """
    arrays = dict(
        keys=np.asarray(keys).astype(np.int64),
        strided=np.asarray(strided).astype(np.float32))
    if high_res is not None:
        arrays['high_res'] = np.asarray(high_res).astype(np.float32)
    if scores is not None:
        arrays['scores'] = np.asarray(scores).astype(np.float32)
    _check(path, arrays, None)
    save_npz(path, arrays)


def read_cam_file(path: str,
                  arrays: Optional[Sequence[str]] = None,
                  image_size: Optional[Sequence[int]] = None,
                  num_classes: Optional[int] = None
                  ) -> Dict[str, np.ndarray]:
    """Read (some of) the arrays of a CAM file and validate them.

    Args:
        path (str): The CAM file.
        arrays (Sequence[str], optional): Arrays to read, all required,
            e.g. ``('keys', 'strided')`` for the random walk (the others are
            not decompressed). Defaults to None (every array of the file).
        image_size (Sequence[int], optional): (H, W) of the image; when
            given, the maps must have its size (``high_res``) or its stride-4
            size (``strided``). Defaults to None (not checked).
        num_classes (int, optional): Classes of the dataset; when given,
            the keys must lie below it. Defaults to None (not checked).

    Returns:
        dict[str, np.ndarray]: The arrays by name.

    Raises:
        FileNotFoundError: If the file does not exist.
        KeyError: If a requested array is missing.
        ValueError: If the file cannot be read or its arrays are malformed
            (keys negative, repeated or out of range; maps with NaN, Inf or
            negative values, or of the wrong size).
    """
    if arrays is not None:
        unknown = sorted(set(arrays) - set(CAM_ARRAYS))
        if unknown:
            raise ValueError(f'Unknown CAM arrays {unknown}; a CAM file holds '
                             f'some of {list(CAM_ARRAYS)}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CAM file not found: {path}. Write the CAMs first '
            '(tools/test.py with a configs/cam config).')
    try:
        loaded = load_npz(path, arrays)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f'Cannot read CAM file {path}: {e}') from e
    missing = [name for name in arrays or () if name not in loaded]
    if missing:
        raise KeyError(f'CAM file {path} has no {missing} (it has '
                       f'{sorted(load_npz(path))}); rewrite it with '
                       'CAMWriter(save_high_res=True) if high_res is missing')
    _check(path, loaded, image_size, num_classes)
    return loaded


def read_finest_cams(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """The classes and the finest maps of a CAM file.

    Args:
        path (str): The CAM file.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``keys`` (K,) and the ``high_res``
        maps (K, H, W) when the file has them, else the ``strided`` ones.
    """
    arrays = read_cam_file(path)
    for name in ('keys', 'strided'):
        if name not in arrays:
            raise KeyError(f'CAM file {path} has no {name!r} (it has '
                           f'{sorted(arrays)})')
    return arrays['keys'], arrays.get('high_res', arrays['strided'])


def load_cam_file(cam_dir: str,
                  sample: Any,
                  arrays: Optional[Sequence[str]] = None,
                  image_size: Optional[Sequence[int]] = None,
                  num_classes: Optional[int] = None
                  ) -> Dict[str, np.ndarray]:
    """Read the CAM file of a sample: :func:`read_cam_file` of
    :func:`cam_path`.

    Args:
        cam_dir (str): Folder of the CAM files.
        sample (BaseDataElement | dict): The sample (names the file).
        arrays (Sequence[str], optional): See :func:`read_cam_file`.
        image_size (Sequence[int], optional): See :func:`read_cam_file`.
        num_classes (int, optional): See :func:`read_cam_file`.

    Returns:
        dict[str, np.ndarray]: The arrays by name.
    """
    return read_cam_file(
        cam_path(cam_dir, sample), arrays, image_size, num_classes)
