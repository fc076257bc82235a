# Copyright (c) mmwsss contributors. All rights reserved.
"""Inter-pixel relation (IR) labels: confident fg / bg / ignore from CAMs."""
from typing import Callable, Optional, Sequence

import numpy as np
from pydensecrf.utils import unary_from_labels

from ..utils.crf import crf_kernels, dense_crf

CRFCallable = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def dense_crf_label(image: np.ndarray,
                    label: np.ndarray,
                    n_labels: int,
                    gt_prob: float = 0.7,
                    iterations: int = 10,
                    **kernels: float) -> np.ndarray:
    """Refine a hard label map with a fully connected CRF (IRN's settings).

    The unary comes from the labels (``gt_prob`` on the given label, no
    "unsure" label); the pairwise terms are a Gaussian kernel and a
    bilateral kernel (see :func:`mmwsss.models.utils.crf.dense_crf`). The
    kernel defaults are IRN's (``gaussian_sxy=3,
    gaussian_compat=3, bilateral_sxy=50, bilateral_srgb=5,
    bilateral_compat=10``), chosen for VOC's ~440 px photographs: on much
    smaller images the spatial stds (in pixels) span a larger part of the
    picture, so scale them with the image size.

    Args:
        image (np.ndarray): (H, W, 3) uint8 RGB image.
        label (np.ndarray): (H, W) integer labels in ``[0, n_labels)``.
        n_labels (int): Number of labels.
        gt_prob (float): Confidence put on the given labels.
            Defaults to 0.7.
        iterations (int): Mean-field iterations. Defaults to 10.
        **kernels (float): Kernel settings replacing IRN's
            (``gaussian_sxy``, ``gaussian_compat``, ``bilateral_sxy``,
            ``bilateral_srgb``, ``bilateral_compat``).

    Returns:
        np.ndarray: (H, W) int64 refined labels.
    """
    unary = unary_from_labels(label, n_labels, gt_prob=gt_prob,
                              zero_unsure=False)
    posterior = dense_crf(image, unary, iterations,
                          **crf_kernels('irn', kernels))
    return posterior.argmax(0)


def cams_to_ir_label(high_res: np.ndarray,
                     keys: Sequence[int],
                     fg_threshold: float = 0.30,
                     bg_threshold: float = 0.05,
                     image: Optional[np.ndarray] = None,
                     crf: Optional[CRFCallable] = None) -> np.ndarray:
    """Confident IR label from full-resolution CAMs.

    Two label maps are made by an argmax over ``[threshold plane; CAMs]``,
    one with ``fg_threshold`` and one with ``bg_threshold``, each optionally
    refined by ``crf``. Pixels labelled foreground by the first keep that
    class; the remaining ones are background where the second map also says
    background and ignore (255) elsewhere.

    Args:
        high_res (np.ndarray): (K, H, W) CAMs of the image's classes,
            max-normalised.
        keys (Sequence[int]): 0-based class index of each CAM channel.
        fg_threshold (float): Background score of the foreground map.
            Defaults to 0.30.
        bg_threshold (float): Background score of the background map.
            Defaults to 0.05.
        image (np.ndarray, optional): (H, W, 3) uint8 RGB image, needed by
            ``crf``. Defaults to None.
        crf (callable, optional): ``crf(image, label, n_labels) -> label``
            applied to each 0..K label map, e.g. :func:`dense_crf_label`.
            None applies no CRF. Defaults to None.

    Returns:
        np.ndarray: (H, W) uint8 label: 0 = background, ``k + 1`` for class
        ``k``, 255 = ignore.
    """
    high_res = np.asarray(high_res)
    if crf is not None and image is None:
        raise ValueError('cams_to_ir_label needs `image` to run a CRF.')
    lut = np.concatenate([[0], np.asarray(keys, dtype=np.int64) + 1])
    n_labels = len(lut)

    def confident(threshold: float) -> np.ndarray:
        label = np.argmax(
            np.pad(
                high_res, ((1, 0), (0, 0), (0, 0)),
                mode='constant',
                constant_values=threshold),
            axis=0)
        if crf is not None:
            label = crf(image, label, n_labels)
        return lut[label]

    fg = confident(fg_threshold)
    bg = confident(bg_threshold)
    ir_label = fg.astype(np.uint8)
    ir_label[fg == 0] = 255
    ir_label[(fg == 0) & (bg == 0)] = 0
    return ir_label
