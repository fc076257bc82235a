# Copyright (c) mmwsss contributors. All rights reserved.
"""Loading transforms."""
import io
import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from mmwsss.fileio import (CAM_ARRAYS, CAM_FIELDS, cam_path, jpeg_damage,
                           read_cam_file, read_label_map)
from mmwsss.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadImageRGB(BaseTransform):
    """Load an image as uint8 RGB with PIL, as the IRN-family references do.

    Unlike mmcv's ``LoadImageFromFile`` (OpenCV, BGR), this keeps the colour
    order of the reference code so PIL resizes see the same data. An
    unreadable file raises an error that names it; a JPEG that decodes but
    whose structure is damaged (:func:`mmwsss.fileio.jpeg_damage`: a
    zero-filled block, a stray marker...) gives a warning that names it,
    since its pixels are partly garbage.

    Added keys: ``img`` (H, W, 3) uint8 RGB, ``img_shape``, ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        if not osp.isfile(path):
            raise FileNotFoundError(f'Image not found: {path}')
        with open(path, 'rb') as f:
            data = f.read()
        try:
            with Image.open(io.BytesIO(data)) as img:
                img = np.asarray(img.convert('RGB'))
        except Exception as e:  # PIL raises several unrelated types
            raise ValueError(f'Cannot read image {path}: {e}') from e
        damage = jpeg_damage(data)
        if damage is not None:
            warnings.warn(
                f'Damaged JPEG {path}: {damage}; it decodes, but parts of '
                'the image are likely garbage.', stacklevel=2)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class LoadLabelMap(BaseTransform):
    """Load the segmentation ground truth (``seg_map_path``) as ``gt_seg_map``.

    Values must be ``0..num_classes`` or 255, and after the image loading
    the map must have the image's size (``ori_shape``); otherwise a
    ``ValueError`` names the file and the problem (IR labels written for
    other images would otherwise be cropped together with the wrong pixels).

    Args:
        num_classes (int): Number of foreground classes.
    """

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        label = read_label_map(results['seg_map_path'], self.num_classes)
        if 'ori_shape' in results:
            check_label_size(results['seg_map_path'], label.shape,
                             results.get('img_path', 'the image'),
                             results['ori_shape'][:2])
        results['gt_seg_map'] = label
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_classes={self.num_classes})'


@TRANSFORMS.register_module()
class LoadCAMFile(BaseTransform):
    """Load the CAM file of an image, as mmdet's ``LoadProposals`` loads
    proposals.

    Reads ``<cam_dir>/<stem>.npz`` (written by :class:`mmwsss.CAMWriter`;
    ``stem`` is ``img_id``, else the image file stem, see
    :func:`mmwsss.fileio.sample_name`) with
    :func:`mmwsss.fileio.read_cam_file` and adds each requested array
    ``name`` as ``cam_<name>``; :class:`mmwsss.PackCAMInputs` packs them into
    the data sample, where the stages that start from CAMs
    (:class:`mmwsss.IRLabelGenerator`, :class:`mmwsss.IRNetRandomWalk`,
    :class:`mmwsss.IRNetInstanceWalk`) and :class:`mmwsss.CAMSeedMetric`
    read them. After the image loading, the maps must fit the image's size
    (``ori_shape``). Errors name the file: missing file
    (``FileNotFoundError``), missing array (``KeyError``), malformed or
    misfitting arrays (``ValueError``).

    Required keys: ``img_id`` or ``img_path``; ``ori_shape`` (optional).
    Added keys: ``cam_<name>`` for each of ``arrays`` (e.g. ``cam_keys``
    int64 (K,), ``cam_strided`` float32 (K, h, w), ``cam_high_res`` float32
    (K, H, W)).

    Args:
        cam_dir (str): Folder of the CAM files.
        arrays (Sequence[str]): Arrays to load, some of ``keys``,
            ``strided``, ``high_res`` and ``scores``: ``('keys',
            'high_res')`` for IR labels and seed scores, ``('keys',
            'strided')`` for the random walks.
        num_classes (int, optional): Foreground classes of the dataset;
            keys at or beyond it are refused. Defaults to None (only
            negative or repeated keys are refused).
    """

    def __init__(self,
                 cam_dir: str,
                 arrays: Sequence[str],
                 num_classes: Optional[int] = None):
        unknown = sorted(set(arrays) - set(CAM_ARRAYS))
        if unknown or not arrays:
            raise ValueError(f'arrays must be some of {list(CAM_ARRAYS)}, '
                             f'got {list(arrays)}')
        if num_classes is not None and num_classes < 1:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.cam_dir = cam_dir
        self.arrays = tuple(arrays)
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        ori_shape = results.get('ori_shape')
        cams = read_cam_file(
            cam_path(self.cam_dir, results), self.arrays,
            None if ori_shape is None else ori_shape[:2], self.num_classes)
        for name, value in cams.items():
            results[CAM_FIELDS[name]] = value
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(cam_dir={self.cam_dir!r}, '
                f'arrays={self.arrays}, num_classes={self.num_classes})')


def check_label_size(label_path: str, label_hw: Sequence[int],
                     img_path: str, img_hw: Sequence[int]) -> None:
    """Raise if a label map does not have the size of its image.

    Args:
        label_path (str): The label file (named in the error).
        label_hw (Sequence[int]): Its height and width.
        img_path (str): The image file (named in the error).
        img_hw (Sequence[int]): Its height and width.

    Raises:
        ValueError: If the sizes differ.
    """
    if tuple(label_hw) != tuple(img_hw):
        raise ValueError(
            f'Label map {label_path} is {label_hw[0]}x{label_hw[1]} (HxW) but '
            f'its image {img_path} is {img_hw[0]}x{img_hw[1]}; label maps '
            'must have the size of the original image')


@TRANSFORMS.register_module()
class LoadPseudoLabel(BaseTransform):
    """Load a pseudo-mask (or ground-truth) label PNG as ``gt_seg_map``.

    The PNG holds class indices (palette or grey): 0 = background, ``k`` =
    class ``k`` of the dataset's ``classes``, 255 = ignore, i.e. what
    :class:`mmwsss.LabelMapWriter` and the pseudo-mask writers produce and
    what VOC's ``SegmentationClass`` holds. The indices are used as they are
    (no ``label_map``, no ``reduce_zero_label``).

    Every load is checked, so a bad file stops training with an error that
    names it instead of a CUDA assert or silently wrong labels:

    - missing or undecodable file: ``FileNotFoundError`` / ``ValueError``;
    - values outside ``0..num_classes - 1`` and 255: ``ValueError``;
    - a size different from the image's (``ori_shape``): ``ValueError``.

    Place it right after ``LoadImageFromFile`` (it needs ``ori_shape``).
    :class:`mmwsss.datasets.PseudoLabelSegDataset` checks that every file
    exists when it is built and, with ``check_files=True``, runs these checks
    on all files.

    Required keys: ``seg_map_path``, ``img_path``, ``ori_shape``.
    Added keys: ``gt_seg_map`` (uint8 (H, W)); ``seg_fields`` gets
    ``'gt_seg_map'``.

    Args:
        num_classes (int): Number of classes including the background, as
            ``decode_head.num_classes`` (21 for VOC).
    """

    def __init__(self, num_classes: int):
        if num_classes < 1:
            raise ValueError(
                f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        label = read_label_map(path, self.num_classes - 1)
        check_label_size(path, label.shape, results['img_path'],
                         results['ori_shape'][:2])
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_classes={self.num_classes})'
