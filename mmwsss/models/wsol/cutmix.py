# Copyright (c) mmwsss contributors. All rights reserved.
"""CutMix as wsolevaluation trains WSOL models."""
import math
from typing import Tuple

import numpy as np
import torch

from mmwsss.registry import BATCH_AUGMENTS


def cutmix_box(height: int, width: int, lam: float, center_row: int,
               center_col: int) -> Tuple[int, int, int, int]:
    """The pasted box of wsolevaluation's ``rand_bbox``.

    The box covers about ``1 - lam`` of the image: sides
    ``int(H sqrt(1 - lam))`` and ``int(W sqrt(1 - lam))`` halved with
    integer division on both sides of the centre (so odd sides lose a
    pixel), clipped to the image.

    Args:
        height (int): Image height H.
        width (int): Image width W.
        lam (float): Beta draw (area kept of the first image).
        center_row (int): Centre row, drawn in [0, H).
        center_col (int): Centre column, drawn in [0, W).

    Returns:
        tuple[int, int, int, int]: ``(row1, col1, row2, col2)``, the box
        ``[row1, row2) x [col1, col2)``.
    """
    cut_ratio = math.sqrt(1. - lam)
    half_rows = int(height * cut_ratio) // 2
    half_cols = int(width * cut_ratio) // 2
    row1 = int(np.clip(center_row - half_rows, 0, height))
    col1 = int(np.clip(center_col - half_cols, 0, width))
    row2 = int(np.clip(center_row + half_rows, 0, height))
    col2 = int(np.clip(center_col + half_cols, 0, width))
    return row1, col1, row2, col2


def cutmix(images: torch.Tensor, scores: torch.Tensor,
           rand_index: torch.Tensor, box: Tuple[int, int, int, int]
           ) -> Tuple[torch.Tensor, torch.Tensor, float]:
    """Paste ``box`` of the permuted batch into the batch and mix targets.

    Args:
        images (Tensor): (B, C, H, W) images.
        scores (Tensor): (B, K) one-hot (or soft) targets.
        rand_index (Tensor): (B, ) permutation: image b receives the box of
            image ``rand_index[b]``.
        box (tuple[int]): ``(row1, col1, row2, col2)`` of
            :func:`cutmix_box`.

    Returns:
        tuple[Tensor, Tensor, float]: The mixed images (a new tensor), the
        mixed targets ``lam * scores + (1 - lam) * scores[rand_index]`` and
        ``lam = 1 - box area / (H W)``. The soft-target cross-entropy of the
        mixed targets equals wsolevaluation's
        ``lam CE(y_a) + (1 - lam) CE(y_b)``.
    """
    row1, col1, row2, col2 = box
    height, width = images.shape[-2:]
    rand_index = rand_index.to(images.device)
    mixed = images.clone()
    mixed[:, :, row1:row2, col1:col2] = images[rand_index, :, row1:row2,
                                               col1:col2]
    lam = 1. - (row2 - row1) * (col2 - col1) / (width * height)
    mixed_scores = lam * scores + (1. - lam) * scores[rand_index.to(
        scores.device)]
    return mixed, mixed_scores, lam


@BATCH_AUGMENTS.register_module()
class WSOLCutMix:
    """CutMix (`Yun et al., ICCV 2019 <https://arxiv.org/abs/1905.04899>`_)
    with wsolevaluation's draws and box.

    Unlike mmpretrain's ``CutMix``, the gate, the beta draw and the box
    centre come from NumPy's global generator and the permutation from
    torch's, in the reference's order (gate ``np.random.rand``, ``lam``,
    ``torch.randperm``, centre row, centre column), and the box is the
    reference's (:func:`cutmix_box`). The gate draw is taken even when
    ``prob`` is 1. The mixed one-hot scores need a head that trains on soft
    targets (:class:`mmwsss.CAMHead` with ``multi_label=False`` does).

    Args:
        alpha (float): Beta(alpha, alpha) parameter (``cutmix_beta``);
            0 disables CutMix. Defaults to 1.0.
        prob (float): Probability to mix a batch (``cutmix_prob``).
            Defaults to 1.0.
    """

    def __init__(self, alpha: float = 1.0, prob: float = 1.0):
        self.alpha = alpha
        self.prob = prob

    def __call__(
            self, inputs: torch.Tensor,
            batch_score: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        gate = np.random.rand(1)
        if not (self.prob > gate and self.alpha > 0):
            # float scores either way, as mmpretrain's RandomBatchAugment
            return inputs, batch_score.float()
        lam = np.random.beta(self.alpha, self.alpha)
        rand_index = torch.randperm(inputs.size(0))
        height, width = inputs.shape[-2:]
        box = cutmix_box(height, width, lam, np.random.randint(height),
                         np.random.randint(width))
        mixed, scores, _ = cutmix(inputs, batch_score.float(), rand_index,
                                  box)
        return mixed, scores
