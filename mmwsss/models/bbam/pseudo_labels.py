# Copyright (c) mmwsss contributors. All rights reserved.
"""From BBAMs to instance and semantic pseudo-labels.

Follows the reference ``make_annotation/anno_utils.py: get_top_CRF`` and
``make_annotation/create_semantic_labels.py``. Each object is processed twice,
with rank fractions 0.85 (foreground) and 0.2 (its complement is background,
the pixels between the two are ignored).
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmwsss.utils import to_numpy
from mmwsss.utils.processes import fork_map
from ..utils.crf import crf_kernels, dense_crf
from .mask import ArrayLike, bbam_stride
from .mcg import mcg_refine_mask

CRF = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Below this image size a pool's start (about 90 ms on 2 cores) costs more
# than sharing the CRFs saves: the BBAM stage of benchmarks/stages.py
# (--few-steps, 2 threads, 2 loader workers) with model.num_workers 2
# against 0, alternated runs on 2 cores, 2026-12-07: 64-96 px images
# 0.70-0.84x, 96-192 px 0.83-1.18x, 375-500 px 1.7-1.8x.
_MIN_PIXELS_FOR_WORKERS = 256 * 256

# Q_fg above this is foreground after the CRF.
_FG_THRESHOLD = 0.9
# Box fill values of the retries after a too small mask, and of the path for
# a missing or empty BBAM.
_RETRY_FILLS = (0.7, 0.8, 0.9, 0.95, 0.96)
_MISSING_FILLS = (0.7, 0.8, 0.9, 0.95)


def _int_box(box_xyxy: ArrayLike, height: int,
             width: int) -> Tuple[int, int, int, int]:
    values = to_numpy(box_xyxy).reshape(-1)
    if values.shape != (4, ):
        raise ValueError(
            f'box_xyxy must hold 4 numbers, got shape {values.shape}.')
    x0, y0, x1, y1 = (int(v) for v in values)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise ValueError(f'box_xyxy {[x0, y0, x1, y1]} must be a non-empty '
                         f'box inside the {height}x{width} image.')
    return x0, y0, x1, y1


def _keep_box(values: np.ndarray, box: Tuple[int, int, int,
                                             int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = np.zeros_like(values)
    out[y0:y1, x0:x1] = values[y0:y1, x0:x1]
    return out


def bbam_to_soft_mask(bbam: ArrayLike, box_xyxy: ArrayLike,
                      image_size: Sequence[int],
                      rank_fraction: float) -> np.ndarray:
    """Soft foreground map of one object, the input of the CRF.

    Steps (reference ``get_top_CRF`` before its CRF):

    1. ``m = (m - min(m)) / max(m)`` (divided by the max, not max - min);
    2. bilinear ``cv2.resize`` to (W, H); zero outside the box;
    3. rescale by rank: ``thr`` is the value at descending rank
       ``int(A * (1 - rank_fraction))`` over the whole image (A = box area
       ``(x1 - x0) * (y1 - y0)``) plus 1e-8, and ``m = clip(m / thr, 0, 1)``,
       so the top ``(1 - rank_fraction) * A`` pixels saturate;
    4. Gaussian blur in float64 with ``k = int(bbam_stride(box))``, window
       ``2k + 1`` and sigma ``k``; zero outside the box;
    5. ``(m - min) / max`` again.

    ``rank_fraction`` is a rank, not a value threshold: the code uses 0.85
    (foreground masks) and 0.2 (ignore masks), where the dissertation quotes
    value thresholds theta_fg = 0.8 and theta_bg = 0.2. Steps 1-3 run in the
    BBAM's floating dtype (float64 for integer input) as in the reference,
    whose output they reproduce to the last bit. A BBAM that is constant, or
    zero inside the box, gives an all-zero map where the reference divides by
    zero.

    Args:
        bbam (ArrayLike): (h, w) attribution map (any resolution).
        box_xyxy (ArrayLike): (4,) integer box ``[x0, y0, x1, y1]``
            (exclusive ends) inside the image.
        image_size (Sequence[int]): (H, W) of the image.
        rank_fraction (float): In [0, 1], e.g. 0.85 or 0.2.

    Returns:
        np.ndarray: float64 (H, W) map in [0, 1], zero outside the box.
    """
    if len(image_size) != 2:
        raise ValueError(f'image_size must be (H, W), got {image_size}.')
    height, width = int(image_size[0]), int(image_size[1])
    box = _int_box(box_xyxy, height, width)
    if not 0 <= rank_fraction <= 1:
        raise ValueError(
            f'rank_fraction must be in [0, 1], got {rank_fraction}.')
    bbam = to_numpy(bbam)
    if bbam.ndim != 2 or bbam.size == 0:
        raise ValueError(f'bbam must be a non-empty (h, w) map, got shape '
                         f'{bbam.shape}.')
    if not np.issubdtype(bbam.dtype, np.floating):
        bbam = bbam.astype(np.float64)
    empty = np.zeros((height, width), dtype=np.float64)
    if bbam.max() <= 0:
        return empty

    m = (bbam - bbam.min()) / bbam.max()
    m = _keep_box(
        cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR), box)
    box_area = (box[2] - box[0]) * (box[3] - box[1])
    flat = m.ravel()
    rank = min(int(box_area * (1 - rank_fraction)), flat.size - 1)
    # The rank-th largest value, without a full sort.
    kth = np.partition(flat, flat.size - 1 - rank)[flat.size - 1 - rank]
    m = np.clip(m / (kth + m.dtype.type(1e-8)), 0, 1)

    k = int(bbam_stride(box, (height, width)))
    m = _keep_box(
        cv2.GaussianBlur(m.astype(np.float64), (2 * k + 1, 2 * k + 1), k), box)
    if m.max() <= 0:
        return empty
    return (m - m.min()) / m.max()


def bbam_dense_crf(image: np.ndarray,
                   probs: np.ndarray,
                   n_iters: int = 10,
                   **kernels: float) -> np.ndarray:
    """Dense CRF of BBAM's pseudo-labels (pydensecrf2).

    Unary ``-log(clip(p, 1e-5, 1))``, a Gaussian kernel and a bilateral
    kernel (see :func:`mmwsss.models.utils.crf.dense_crf`) with the
    reference parameters (``gaussian_sxy=1,
    gaussian_compat=3, bilateral_sxy=80, bilateral_srgb=3,
    bilateral_compat=4``). The bilateral kernel uses the same ``srgb`` for
    every channel, so RGB and BGR images give the same result.

    Args:
        image (np.ndarray): (H, W, 3) uint8 image.
        probs (np.ndarray): (L, H, W) label probabilities.
        n_iters (int): Mean-field iterations. Defaults to 10.
        **kernels (float): Kernel settings replacing the reference's
            (``gaussian_sxy``, ``gaussian_compat``, ``bilateral_sxy``,
            ``bilateral_srgb``, ``bilateral_compat``).

    Returns:
        np.ndarray: float32 (L, H, W) posterior.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError('image must be a (H, W, 3) uint8 array, got '
                         f'{image.dtype} {image.shape}.')
    if probs.ndim != 3 or probs.shape[1:] != image.shape[:2]:
        raise ValueError(f'probs must be (L, {image.shape[0]}, '
                         f'{image.shape[1]}), got {probs.shape}.')
    unary = -np.log(np.clip(probs, 1e-5, 1.0)).reshape(probs.shape[0], -1)
    return dense_crf(image, np.ascontiguousarray(unary, dtype=np.float32),
                     n_iters, **crf_kernels('bbam', kernels))


def _crf_foreground(crf: CRF, image: np.ndarray,
                    fg_prob: np.ndarray) -> np.ndarray:
    posterior = crf(image, np.stack([fg_prob, 1 - fg_prob]))
    return np.asarray(posterior)[0] > _FG_THRESHOLD


def _fill_retries(crf: CRF, image: np.ndarray, box: Tuple[int, int, int, int],
                  prior: np.ndarray, fills: Sequence[float],
                  min_pixels: float) -> np.ndarray:
    # Box filled with q on top of the prior foreground; the first result
    # larger than min_pixels wins, else the last one.
    x0, y0, x1, y1 = box
    for fill in fills:
        fg_prob = prior.astype(np.float64)
        fg_prob[y0:y1, x0:x1] = np.maximum(fg_prob[y0:y1, x0:x1], fill)
        fg = _crf_foreground(crf, image, fg_prob)
        if fg.sum() > min_pixels:
            break
    return fg


def bbam_to_instance_mask(bbam: Optional[ArrayLike],
                          box_xyxy: ArrayLike,
                          image: np.ndarray,
                          rank_fraction: float,
                          crf: Optional[CRF] = None) -> np.ndarray:
    """Instance pseudo-mask of one object: soft mask, CRF and fallbacks.

    The soft mask ``m`` of :func:`bbam_to_soft_mask` goes through the CRF as
    ``[m, 1 - m]`` and the foreground is ``Q_fg > 0.9``. It is accepted when
    it has more than A / 5 pixels (A = box area) or the box covers more than
    10 % of the image. Otherwise the CRF is re-run on the foreground with the
    box filled with q = 0.7, 0.8, 0.9, 0.95, 0.96 (the maximum of the two),
    and the first result with more than A / 3 pixels is kept, else the last.

    A missing (None) or empty BBAM runs the box fills q = 0.7, 0.8, 0.9, 0.95
    from an empty foreground, keeping the first result with more than A / 5
    pixels. When none passes, the reference appends no mask at all, which
    silently pairs the following masks with the wrong boxes; here the last
    attempt is returned, so every box gets a mask.

    Args:
        bbam (ArrayLike, optional): (h, w) attribution map, or None when the
            object has none (no positive proposals).
        box_xyxy (ArrayLike): (4,) integer box ``[x0, y0, x1, y1]``
            (exclusive ends) inside the image.
        image (np.ndarray): (H, W, 3) uint8 image, passed to ``crf``.
        rank_fraction (float): See :func:`bbam_to_soft_mask`.
        crf (Callable, optional): ``crf(image, probs) -> posterior`` with
            probs and posterior (2, H, W), channel 0 = foreground. Defaults to
            None (:func:`bbam_dense_crf`).

    Returns:
        np.ndarray: bool (H, W) foreground mask.
    """
    if image.ndim != 3:
        raise ValueError(f'image must be (H, W, 3), got {image.shape}.')
    crf = bbam_dense_crf if crf is None else crf
    height, width = image.shape[:2]
    box = _int_box(box_xyxy, height, width)
    box_area = (box[2] - box[0]) * (box[3] - box[1])
    no_fg = np.zeros((height, width), dtype=bool)

    soft = None if bbam is None else bbam_to_soft_mask(bbam, box,
                                                       (height,
                                                        width), rank_fraction)
    if soft is None or not soft.any():
        return _fill_retries(crf, image, box, no_fg, _MISSING_FILLS,
                             box_area / 5)
    fg = _crf_foreground(crf, image, soft)
    if fg.sum() > box_area / 5 or box_area / (height * width) > 0.1:
        return fg
    return _fill_retries(crf, image, box, fg, _RETRY_FILLS, box_area / 3)


def merge_semantic_labels(classes: ArrayLike, boxes_xywh: ArrayLike,
                          masks_fg: ArrayLike,
                          masks_ignore: ArrayLike) -> np.ndarray:
    """Semantic pseudo-label of an image from its instance pseudo-masks.

    Steps (reference ``create_semantic_labels.py``):

    1. OR the foreground masks of each class; label pixels by class id in
       increasing order (a higher id overwrites a lower one);
    2. pixels claimed by more than one class become 255;
    3. instances whose box lies inside another, different box (inclusive
       comparison; identical boxes do not count) write their class over their
       foreground pixels, larger boxes first (ties in input order), so nested
       objects are not lost to the conflict rule;
    4. pixels in an instance's ignore mask but not in the same instance's
       foreground mask become 255.

    Args:
        classes (ArrayLike): (K,) class ids in [1, 254] (1-based).
        boxes_xywh (ArrayLike): (K, 4) boxes ``[x, y, w, h]``.
        masks_fg (ArrayLike): (K, H, W) foreground masks (rank fraction 0.85).
        masks_ignore (ArrayLike): (K, H, W) ignore masks (rank fraction 0.2).

    Returns:
        np.ndarray: uint8 (H, W) label map: 0 background, class ids, 255
        ignore.
    """
    as_np = [
        to_numpy(v) for v in (classes, boxes_xywh, masks_fg, masks_ignore)
    ]
    classes = as_np[0].astype(np.int64).reshape(-1)
    boxes = as_np[1].astype(np.float64).reshape(-1, 4)
    fg, ignore = as_np[2].astype(bool), as_np[3].astype(bool)
    num = classes.shape[0]
    if fg.ndim != 3 or fg.shape[0] != num or ignore.shape != fg.shape:
        raise ValueError(
            f'masks_fg and masks_ignore must be ({num}, H, W), got '
            f'{fg.shape} and {ignore.shape}.')
    if boxes.shape[0] != num:
        raise ValueError(f'boxes_xywh must be ({num}, 4), got '
                         f'{as_np[1].shape}.')
    if num and (classes.min() < 1 or classes.max() > 254):
        raise ValueError('classes must be in [1, 254], got '
                         f'{classes.tolist()}.')
    label = np.zeros(fg.shape[1:], dtype=np.uint8)
    if num == 0:
        return label

    present = np.unique(classes)
    claimed = np.stack([fg[classes == c].any(axis=0) for c in present])
    # Classes are sorted, so the max id over the claims is the last writer.
    label = (claimed * present[:, None, None]).max(axis=0).astype(np.uint8)
    label[claimed.sum(axis=0) > 1] = 255

    xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    inside = ((xyxy[:, None, :2] >= xyxy[None, :, :2]).all(axis=2)
              & (xyxy[:, None, 2:] <= xyxy[None, :, 2:]).all(axis=2)
              & (xyxy[:, None] != xyxy[None]).any(axis=2))
    order = np.argsort(-(boxes[:, 2] * boxes[:, 3]), kind='stable')
    for i in order[inside[order].any(axis=1)]:
        label[fg[i]] = classes[i]

    label[(ignore & ~fg).any(axis=0)] = 255
    return label


def pixel_box(box_xyxy: ArrayLike, height: int,
              width: int) -> Tuple[int, int, int, int]:
    """The pixels a box touches, inside the image, at least one of them.

    Args:
        box_xyxy (ArrayLike): (4,) box ``[x0, y0, x1, y1]`` in pixels.
        height (int): Image height.
        width (int): Image width.

    Returns:
        tuple[int]: ``(x0, y0, x1, y1)``, ends exclusive: the start floored,
        the end ceiled, both clipped to the image.
    """
    box = to_numpy(box_xyxy).astype(np.float64).reshape(4)
    x0 = int(np.clip(np.floor(box[0]), 0, width - 1))
    y0 = int(np.clip(np.floor(box[1]), 0, height - 1))
    x1 = int(np.clip(np.ceil(box[2]), x0 + 1, width))
    y1 = int(np.clip(np.ceil(box[3]), y0 + 1, height))
    return x0, y0, x1, y1


def filled_box_masks(boxes_xyxy: ArrayLike, height: int,
                     width: int) -> np.ndarray:
    """Masks filling the :func:`pixel_box` of each box.

    Args:
        boxes_xyxy (ArrayLike): (K, 4) boxes ``[x0, y0, x1, y1]``.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: bool (K, H, W).
    """
    boxes = to_numpy(boxes_xyxy).reshape(-1, 4)
    masks = np.zeros((len(boxes), height, width), dtype=bool)
    for mask, box in zip(masks, boxes):
        x0, y0, x1, y1 = pixel_box(box, height, width)
        mask[y0:y1, x0:x1] = True
    return masks


def bbam_pseudo_masks(bbams: Sequence[ArrayLike],
                      num_positives: ArrayLike,
                      boxes_xyxy: ArrayLike,
                      labels: ArrayLike,
                      image: np.ndarray,
                      fg_rank_fraction: float = 0.85,
                      ignore_rank_fraction: float = 0.2,
                      crf: Optional[CRF] = None,
                      mcg: Optional[Tuple[ArrayLike, ArrayLike]] = None,
                      mcg_count: str = 'pixels',
                      mcg_semantic: bool = False,
                      num_workers: int = 0) -> Dict[str, np.ndarray]:
    """Instance and semantic pseudo-masks of an image from its BBAMs.

    Each object's map goes through :func:`bbam_to_instance_mask` on its
    :func:`pixel_box` twice: with ``fg_rank_fraction`` (foreground mask)
    and ``ignore_rank_fraction`` (ignore mask); an object without positive
    proposals takes its box-filling path. A mask that still comes out empty
    becomes the filled box, so every box keeps a mask (the reference drops
    it silently, which mis-pairs the following masks and boxes). The
    semantic label is :func:`merge_semantic_labels` of the masks.

    With ``mcg``, each object's two masks are then refined with the image's
    MCG proposals (:func:`mcg_refine_mask`, the reference's
    ``BBAM_plus_mcg.py``). The semantic label stays that of the masks
    before the refinement (the reference's ``create_semantic_labels.py``
    reads the jsons without MCG by default) unless ``mcg_semantic``.

    Args:
        bbams (Sequence[ArrayLike]): K (h_k, w_k) maps (any resolution).
        num_positives (ArrayLike): (K,) positive proposals of each map; 0
            marks an object without a map.
        boxes_xyxy (ArrayLike): (K, 4) boxes in the frame of ``image``.
        labels (ArrayLike): (K,) 0-based classes.
        image (np.ndarray): (H, W, 3) uint8 image of the CRF.
        fg_rank_fraction (float): Rank fraction of the foreground masks.
            Defaults to 0.85.
        ignore_rank_fraction (float): Rank fraction of the ignore masks.
            Defaults to 0.2.
        crf (Callable, optional): See :func:`bbam_to_instance_mask`.
        mcg (tuple, optional): ``(superpixels, membership)`` of the image's
            MCG proposals (:class:`mmwsss.fileio.MCGProposals`: 0-based
            (H, W) superpixels, (P, S) membership). Defaults to None (no
            refinement).
        mcg_count (str): ``count`` of :func:`mcg_refine_mask`. Defaults to
            ``'pixels'``.
        mcg_semantic (bool): Merge the semantic label from the refined
            masks. Defaults to False.
        num_workers (int): Forked processes that share the 2K CRF runs
            (:func:`mmwsss.utils.processes.fork_map`) of an image of at
            least 256 x 256 pixels; 0 or 1, or a smaller image, runs them
            here. Defaults to 0.

    Returns:
        dict[str, np.ndarray]: ``masks`` and ``ignore_masks`` bool
        (K, H, W); ``bbam_missing`` and ``box_filled`` bool (K,) (no map;
        a mask replaced by its filled box); ``sem_seg`` uint8 (H, W): 0
        background, ``k + 1`` class ``k``, 255 ignore; with ``mcg``,
        ``mcg_refined`` bool (K,) (False: box under 32 x 32 pixels).
    """
    height, width = image.shape[:2]
    boxes = to_numpy(boxes_xyxy).astype(np.float64).reshape(-1, 4)
    labels = to_numpy(labels).astype(np.int64).reshape(-1)
    missing = to_numpy(num_positives).reshape(-1) <= 0
    num = len(boxes)
    if len(bbams) != num or labels.shape[0] != num or missing.shape[0] != num:
        raise ValueError(f'{num} boxes but {len(bbams)} maps, '
                         f'{labels.shape[0]} labels and {missing.shape[0]} '
                         'positive counts.')
    fills = filled_box_masks(boxes, height, width)
    maps = [
        None if missing[k] else to_numpy(bbams[k]).astype(np.float32)
        for k in range(num)
    ]
    ranks = (fg_rank_fraction, ignore_rank_fraction)

    def instance_mask(job: Tuple[int, int]) -> np.ndarray:
        k, which = job
        return bbam_to_instance_mask(maps[k],
                                     pixel_box(boxes[k], height, width),
                                     image, ranks[which], crf)

    jobs = [(k, which) for k in range(num) for which in range(2)]
    if height * width < _MIN_PIXELS_FOR_WORKERS:
        num_workers = 0
    masks = np.zeros((2, num, height, width), dtype=bool)
    box_filled = np.zeros(num, dtype=bool)
    for (k, which), mask in zip(jobs,
                                fork_map(instance_mask, jobs, num_workers)):
        if not mask.any():
            mask, box_filled[k] = fills[k], True
        masks[which, k] = mask
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)
    merged = masks
    if mcg is not None:
        superpixels = to_numpy(mcg[0])
        # converted once for all objects
        membership = to_numpy(mcg[1], np.float64)
        refined = np.zeros_like(masks)
        mcg_refined = np.zeros(num, dtype=bool)
        for k in range(num):
            refined[0, k], refined[1, k], mcg_refined[k] = mcg_refine_mask(
                masks[0, k], masks[1, k], pixel_box(boxes[k], height, width),
                superpixels, membership, mcg_count)
        merged = refined if mcg_semantic else masks
        masks = refined
    out = dict(
        masks=masks[0],
        ignore_masks=masks[1],
        bbam_missing=missing,
        box_filled=box_filled,
        sem_seg=merge_semantic_labels(labels + 1, xywh, merged[0],
                                      merged[1]))
    if mcg is not None:
        out['mcg_refined'] = mcg_refined
    return out
