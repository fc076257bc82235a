# Copyright (c) mmwsss contributors. All rights reserved.
"""Fully connected CRF (pydensecrf): a Gaussian and a bilateral kernel."""
from typing import Dict

import numpy as np
import pydensecrf.densecrf as dcrf

# The kernel settings, by name, and their values in each method.
CRF_KERNEL_NAMES = ('gaussian_sxy', 'gaussian_compat', 'bilateral_sxy',
                    'bilateral_srgb', 'bilateral_compat')
CRF_KERNEL_DEFAULTS = {
    # IRN, chosen for VOC's ~440 px photographs.
    'irn': (3, 3, 50, 5, 10),
    # The BBAM reference's pseudo-label CRF.
    'bbam': (1, 3, 80, 3, 4),
    # PSA's la/ha labels (``tool/imutils.py crf_inference``), for VOC too.
    'psa': (3, 3, 80, 13, 10),
    # The VOC settings of the DeepLab-v2 PyTorch implementation used by
    # AdvCAM, RIB and BBAM (kazuto1011/deeplab-pytorch configs/voc12.yaml).
    'deeplab_voc': (1, 3, 67, 3, 4),
    # DSRG's training-time CRF (the SEC/DSRG krahenbuhl2013 wrapper); its
    # spatial stds are divided by a scale factor (12) for the score map.
    'dsrg': (3, 3, 80, 13, 10),
}


def crf_kernels(method: str, overrides: Dict[str, float]) -> Dict[str, float]:
    """The kernel settings of ``method`` updated by ``overrides``.

    Args:
        method (str): A key of :data:`CRF_KERNEL_DEFAULTS`.
        overrides (dict[str, float]): Values given by the caller, keyed by
            names of :data:`CRF_KERNEL_NAMES`.

    Returns:
        dict[str, float]: The settings to pass to :func:`dense_crf`.
    """
    unknown = sorted(set(overrides) - set(CRF_KERNEL_NAMES))
    if unknown:
        raise TypeError(f'Unknown CRF kernel settings {unknown}; expected '
                        f'some of {CRF_KERNEL_NAMES}')
    return dict(zip(CRF_KERNEL_NAMES, CRF_KERNEL_DEFAULTS[method]),
                **overrides)


def dense_crf(image: np.ndarray, unary: np.ndarray, iterations: int, *,
              gaussian_sxy: float, gaussian_compat: float,
              bilateral_sxy: float, bilateral_srgb: float,
              bilateral_compat: float) -> np.ndarray:
    """Mean-field posterior of a fully connected CRF on an image.

    Pairwise terms: a Gaussian (smoothness) kernel and a bilateral
    (appearance) kernel.

    Args:
        image (np.ndarray): (H, W, 3) uint8 image; a read-only one is copied
            (pydensecrf needs a writeable buffer, arrays from PIL are not).
        unary (np.ndarray): (L, H * W) float32 unary energies.
        iterations (int): Mean-field iterations.
        gaussian_sxy (float): Spatial std of the smoothness kernel, px.
        gaussian_compat (float): Weight of the smoothness kernel.
        bilateral_sxy (float): Spatial std of the appearance kernel, px.
        bilateral_srgb (float): Colour std of the appearance kernel.
        bilateral_compat (float): Weight of the appearance kernel.

    Returns:
        np.ndarray: float32 (L, H, W) posterior.
    """
    n_labels = unary.shape[0]
    height, width = image.shape[:2]
    crf = dcrf.DenseCRF2D(width, height, n_labels)
    crf.setUnaryEnergy(unary)
    crf.addPairwiseGaussian(sxy=gaussian_sxy, compat=gaussian_compat)
    crf.addPairwiseBilateral(
        sxy=bilateral_sxy,
        srgb=bilateral_srgb,
        rgbim=np.require(image, np.uint8, ['C_CONTIGUOUS', 'WRITEABLE']),
        compat=bilateral_compat)
    posterior = crf.inference(iterations)
    return np.asarray(
        posterior, dtype=np.float32).reshape(n_labels, height, width)
