# Copyright (c) mmwsss contributors. All rights reserved.
"""Saliency inputs: loading, the saliency ignore rule and DSRG's seeds."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmwsss.fileio import read_saliency_map, saliency_path
from mmwsss.models.dsrg.functional import dsrg_seed_label
from mmwsss.registry import TRANSFORMS

IGNORE = 255


def saliency_ignore(label: np.ndarray,
                    saliency: np.ndarray,
                    threshold: float = 0.5) -> np.ndarray:
    """Ignore the pixels where a pseudo-label and a saliency map disagree.

    The rule of RIB with salient object supervision (dissertation sec. 3,
    "RIB + S"): a foreground pixel of the pseudo-label that the saliency
    map calls background, or a background pixel that it calls foreground,
    is ignored in the training of the segmentation network. Saliency is
    binarised at ``threshold`` (salient = ``saliency >= threshold``).

    Args:
        label (np.ndarray): (H, W) labels, 0 = background, 255 = ignore.
        saliency (np.ndarray): (H, W) saliency in [0, 1].
        threshold (float): Binarisation threshold. Defaults to 0.5.

    Returns:
        np.ndarray: (H, W) copy of ``label`` with the disagreements set to
        255.
    """
    label = np.array(label, copy=True)
    salient = np.asarray(saliency) >= threshold
    foreground = (label != 0) & (label != IGNORE)
    label[(foreground & ~salient) | ((label == 0) & salient)] = IGNORE
    return label


@TRANSFORMS.register_module()
class LoadSaliencyMap(BaseTransform):
    """Load the saliency map of an image (``<saliency_dir>/<stem>.png``).

    Place it after the image loading and before any geometric transform: the
    map must have the original image size (``ori_shape``). Errors name the
    file (see :func:`mmwsss.fileio.read_saliency_map`).

    Required keys: ``img_id`` or ``img_path``; ``ori_shape`` (optional).
    Added keys: ``saliency`` float32 (H, W) in [0, 1].

    Args:
        saliency_dir (str): Folder of the saliency PNGs.
    """

    def __init__(self, saliency_dir: str):
        self.saliency_dir = saliency_dir

    def transform(self, results: dict) -> dict:
        ori_shape = results.get('ori_shape')
        results['saliency'] = read_saliency_map(
            saliency_path(self.saliency_dir, results),
            None if ori_shape is None else ori_shape[:2])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(saliency_dir={self.saliency_dir!r})'


@TRANSFORMS.register_module()
class SaliencyIgnore(BaseTransform):
    """Set ``gt_seg_map`` to ignore where it disagrees with the saliency.

    :func:`saliency_ignore` on a pseudo-mask or IR label loaded at the
    original size (after :class:`LoadSaliencyMap`).

    Required keys: ``gt_seg_map``, ``saliency``.
    Modified keys: ``gt_seg_map``.

    Args:
        threshold (float): Saliency binarisation threshold. Defaults to 0.5.
    """

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold

    def transform(self, results: dict) -> dict:
        results['gt_seg_map'] = saliency_ignore(
            results['gt_seg_map'], results['saliency'], self.threshold)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(threshold={self.threshold})'


@TRANSFORMS.register_module()
class DSRGSeedsFromCAM(BaseTransform):
    """DSRG's initial seeds from the image's CAMs, as ``gt_seg_map``.

    :func:`mmwsss.functional.dsrg_seed_label` on the full-resolution CAMs
    loaded by ``LoadCAMFile(arrays=('keys', 'high_res'))``, with background
    cues from the saliency map when :class:`LoadSaliencyMap` ran before it.
    Seeds are computed here, on the fly, rather than written by a stage:
    they are a threshold of the CAM files, and the thresholds stay in the
    training config. The geometric transforms that follow treat the seeds
    as a label map (255 = unseeded).

    Required keys: ``cam_keys``, ``cam_high_res``; ``saliency`` (optional).
    Added keys: ``gt_seg_map`` uint8 (H, W); ``seg_fields`` gets
    ``'gt_seg_map'``.

    Args:
        fg_threshold (float): Foreground CAM threshold. Defaults to 0.2.
        bg_threshold (float): Background CAM threshold (without saliency).
            Defaults to 0.05.
        saliency_bg_threshold (float): Saliency below which a pixel is a
            background seed. Defaults to 0.06.
    """

    def __init__(self,
                 fg_threshold: float = 0.2,
                 bg_threshold: float = 0.05,
                 saliency_bg_threshold: float = 0.06):
        self.fg_threshold = fg_threshold
        self.bg_threshold = bg_threshold
        self.saliency_bg_threshold = saliency_bg_threshold

    def transform(self, results: dict) -> dict:
        results['gt_seg_map'] = dsrg_seed_label(
            results['cam_high_res'], results['cam_keys'], self.fg_threshold,
            self.bg_threshold, results.get('saliency'),
            self.saliency_bg_threshold)
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(fg_threshold={self.fg_threshold}, '
                f'bg_threshold={self.bg_threshold}, saliency_bg_threshold='
                f'{self.saliency_bg_threshold})')
