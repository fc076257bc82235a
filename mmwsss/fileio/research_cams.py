# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM files of the research codes, read and written.

- ``irn`` (IRN, AdvCAM, RIB, W-OoD): ``<id>.npy``, a pickled dict with
  ``keys`` (0-based classes), ``cam`` (stride-4 maps, a torch tensor) and
  ``high_res`` (full-resolution maps);
- ``psa`` (PSA, SEAM, TransCAM): ``<id>.npy``, a pickled dict
  ``{class: (H, W) map}`` of full-resolution maps;
- ``clip-es``: ``<id>.npy``, a pickled dict with ``keys`` and
  ``attn_highres`` ((K, H, W) float16);
- ``wsolevaluation``: ``<image file name>.npy``, one plain (H, W) score map
  per image; its class comes from the metadata's ``class_labels.txt``.

The dict formats are pickles, and unpickling a file can run code. They are
read only when the caller says it trusts them, and even then through an
allow-list that admits numpy arrays and torch tensors and nothing else
(tensor storages load with ``torch.load(weights_only=True)``).

Formats without stride-4 maps get ``strided`` sampled from the
full-resolution maps at every fourth pixel (``high_res[:, ::4, ::4]``, the
size of :func:`strided_map_size`).
"""
import io
import pickle
from typing import Dict, Optional

import numpy as np

RESEARCH_CAM_FORMATS = ('irn', 'psa', 'clip-es', 'wsolevaluation')

# The globals a pickled dict of numpy arrays and torch tensors needs.
_NUMPY_GLOBALS = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar')
}
_TORCH_GLOBALS = {('torch._utils', '_rebuild_tensor_v2'),
                  ('collections', 'OrderedDict')}


def _load_storage_bytes(data: bytes):
    import torch
    return torch.load(io.BytesIO(data), weights_only=True)


class _AllowListUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and torch tensors only."""

    def __init__(self, file, path: str):
        super().__init__(file)
        self.path = path

    def find_class(self, module: str, name: str):
        if (module, name) == ('torch.storage', '_load_from_bytes'):
            return _load_storage_bytes
        if (module, name) in _NUMPY_GLOBALS | _TORCH_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{self.path}: refusing to unpickle {module}.{name}; a CAM file '
            'holds only numpy arrays and torch tensors')


def load_pickled_npy(path: str, trust_pickles: bool = False):
    """The object of an ``.npy`` file, a pickled object array allowed.

    Args:
        path (str): The file.
        trust_pickles (bool): Read a pickled file (through the allow-list).
            Defaults to False: a pickled file is refused.

    Returns:
        The stored array, or the object of a 0-d object array (a dict).
    """
    from numpy.lib import format as npy_format
    with open(path, 'rb') as f:
        version = npy_format.read_magic(f)
        read_header = (
            npy_format.read_array_header_1_0
            if version == (1, 0) else npy_format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        if dtype != object:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        if not trust_pickles:
            raise ValueError(
                f'{path} is a pickle (a dict saved with np.save); unpickling '
                'can run code, so it is read only when you trust its source '
                '(--trust-pickles)')
        try:
            array = _AllowListUnpickler(f, path).load()
        except pickle.UnpicklingError:
            raise
        except Exception as e:  # truncated or foreign pickles
            raise ValueError(f'Cannot read {path}: {e}') from e
    if not isinstance(array, np.ndarray):
        raise ValueError(f'{path}: not an array file')
    return array.item() if array.shape == () else array


def _numpy(value) -> np.ndarray:
    """numpy array of a numpy array or a torch tensor (unpickled, so on
    the CPU)."""
    if hasattr(value, 'detach'):
        value = value.detach().cpu()
    return np.asarray(value)


def _strided_from(high_res: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(high_res[:, ::4, ::4])


def read_research_cams(path: str,
                       fmt: str,
                       trust_pickles: bool = False,
                       label: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Read a research code's CAM file as the arrays of our CAM file.

    Args:
        path (str): The file.
        fmt (str): One of :data:`RESEARCH_CAM_FORMATS`.
        trust_pickles (bool): Read pickled dicts (every format but
            ``wsolevaluation``). Defaults to False.
        label (int, optional): The class of a ``wsolevaluation`` map.

    Returns:
        dict[str, np.ndarray]: ``keys``, ``strided`` and ``high_res`` (see
        :mod:`mmwsss.fileio.cam_file`).
    """
    if fmt not in RESEARCH_CAM_FORMATS:
        raise ValueError(f'Unknown CAM format {fmt!r}; expected one of '
                         f'{RESEARCH_CAM_FORMATS}')
    content = load_pickled_npy(path, trust_pickles)
    try:
        if fmt == 'wsolevaluation':
            if label is None:
                raise ValueError('its class is unknown (metadata missing)')
            high_res = np.asarray(content, np.float32)[None]
            keys = np.array([label])
            strided = _strided_from(high_res)
        elif fmt == 'psa':
            classes = sorted(content)
            keys = np.array(classes, np.int64)
            high_res = np.stack([_numpy(content[k]) for k in classes]
                                ) if classes else np.zeros((0, 1, 1))
            strided = _strided_from(high_res)
        elif fmt == 'clip-es':
            keys = _numpy(content['keys'])
            high_res = _numpy(content['attn_highres'])
            strided = _strided_from(high_res)
        else:
            keys = _numpy(content['keys'])
            high_res = _numpy(content['high_res'])
            strided = _numpy(content['cam'])
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f'{path} is not a {fmt} CAM file: {e}') from e
    return dict(
        keys=keys.astype(np.int64),
        strided=strided.astype(np.float32),
        high_res=high_res.astype(np.float32))


def write_research_cams(path: str, fmt: str, keys: np.ndarray,
                        strided: np.ndarray, high_res: np.ndarray) -> None:
    """Write our arrays as a research code's CAM file.

    The ``irn`` format stores ``keys`` and ``cam`` as torch tensors and
    ``high_res`` as a numpy array, as IRN's ``make_cam.py`` does (its random
    walk calls ``.cuda()`` on ``cam``); ``wsolevaluation`` stores the map of
    the first key.

    Args:
        path (str): Destination (``.npy``).
        fmt (str): One of :data:`RESEARCH_CAM_FORMATS`.
        keys (np.ndarray): (K,) 0-based classes.
        strided (np.ndarray): (K, h, w) stride-4 maps.
        high_res (np.ndarray): (K, H, W) maps.
    """
    from .atomic import atomic_write
    keys = np.asarray(keys, np.int64)
    high_res = np.asarray(high_res, np.float32)
    if fmt == 'irn':
        import torch
        content = dict(
            keys=torch.from_numpy(keys),
            cam=torch.from_numpy(np.asarray(strided, np.float32)),
            high_res=high_res)
    elif fmt == 'psa':
        content = {int(k): high_res[i] for i, k in enumerate(keys)}
    elif fmt == 'clip-es':
        content = dict(keys=keys, attn_highres=high_res.astype(np.float16))
    elif fmt == 'wsolevaluation':
        if len(keys) < 1:
            raise ValueError(f'{path}: no map to write (no keys)')
        content = high_res[0]
    else:
        raise ValueError(f'Unknown CAM format {fmt!r}; expected one of '
                         f'{RESEARCH_CAM_FORMATS}')
    if isinstance(content, np.ndarray):
        atomic_write(path, lambda f: np.save(f, content, allow_pickle=False))
    else:
        atomic_write(path, lambda f: np.save(f, content, allow_pickle=True))
