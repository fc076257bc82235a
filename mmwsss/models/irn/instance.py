# Copyright (c) mmwsss contributors. All rights reserved.
"""IRNet instance pseudo labels: displacement centroids, clusters, masks."""
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from skimage.measure import label as connected_components

from .random_walk import random_walk, upsample_rw

from mmwsss.utils.tensor import to_numpy


def find_centroids(displacement: np.ndarray,
                   iterations: int = 300) -> np.ndarray:
    """Follow the displacement field from every pixel to its centroid.

    Every pixel starts at its own coordinate and moves ``iterations`` times
    by the bilinearly sampled displacement at its current position, clipped
    to the grid after each step; positions are rounded at the end.

    Args:
        displacement (np.ndarray): (2, h, w) displacement (dy, dx) in grid
            pixels.
        iterations (int): Number of refinement steps. Defaults to 300.

    Returns:
        np.ndarray: (2, h, w) int32 centroid (y, x) of every pixel.
    """
    displacement = np.asarray(displacement, dtype=np.float32)
    height, width = displacement.shape[1:]
    pos_y, pos_x = np.meshgrid(
        np.arange(height, dtype=np.float32),
        np.arange(width, dtype=np.float32),
        indexing='ij')
    for _ in range(iterations):
        # Bilinear weights from the ceil corner: weight (1 - d) on ceil(p)
        # and d on ceil(p) - 1, with d = ceil(p) - p.
        hi_y = np.ceil(pos_y).astype(np.int64)
        hi_x = np.ceil(pos_x).astype(np.int64)
        lo_y, lo_x = np.maximum(hi_y - 1, 0), np.maximum(hi_x - 1, 0)
        frac_y, frac_x = hi_y - pos_y, hi_x - pos_x
        step = (
            displacement[:, hi_y, hi_x] * (1 - frac_y) * (1 - frac_x) +
            displacement[:, lo_y, hi_x] * frac_y * (1 - frac_x) +
            displacement[:, hi_y, lo_x] * (1 - frac_y) * frac_x +
            displacement[:, lo_y, lo_x] * frac_y * frac_x)
        # Positions are stored in float32 like the reference's.
        pos_y = np.clip(pos_y + step[0], 0, height - 1).astype(np.float32)
        pos_x = np.clip(pos_x + step[1], 0, width - 1).astype(np.float32)
    return np.stack([np.round(pos_y), np.round(pos_x)]).astype(np.int32)


def cluster_centroids(centroids: np.ndarray,
                      displacement: np.ndarray,
                      threshold: float = 2.5) -> np.ndarray:
    """Group pixels into instances by the region their centroid falls in.

    Instance centres are the 4-connected components of the weak-displacement
    region ``|D| < threshold``. Each pixel takes the component found at its
    centroid (0 when the centroid lies outside the region) and the ids are
    compressed to ``0..K-1`` in increasing order, so the "no centre" id 0
    becomes instance 0 when present.

    Args:
        centroids (np.ndarray): (2, h, w) integer centroid (y, x) of every
            pixel, e.g. from :func:`find_centroids`.
        displacement (np.ndarray): (2, h, w) displacement field.
        threshold (float): Displacement norm below which a pixel belongs to
            an instance centre. Defaults to 2.5.

    Returns:
        np.ndarray: (K, h, w) uint8 one-hot instance map.
    """
    weak = np.linalg.norm(np.asarray(displacement), axis=0) < threshold
    centres = connected_components(weak, connectivity=1)
    ids = centres[centroids[0], centroids[1]]
    uniq, compressed = np.unique(ids, return_inverse=True)
    one_hot = np.eye(len(uniq), dtype=np.uint8)[compressed.reshape(ids.shape)]
    return one_hot.transpose(2, 0, 1)


def instance_labels(
    cams: torch.Tensor,
    keys: Sequence[int],
    edge: torch.Tensor,
    displacement: torch.Tensor,
    image_size: Sequence[int],
    beta: float = 10,
    exp_times: int = 8,
    radius: int = 5,
    bg_threshold: float = 0.25,
    min_area_ratio: float = 0.01,
    centroid_iterations: int = 300,
    centre_threshold: float = 2.5,
    walk_dtype: Union[str, torch.dtype] = torch.float64
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Instance pseudo labels of IRNet (``make_ins_seg_labels``).

    Pixels are clustered by their displacement centroids; every (class,
    instance) product of the CAMs and the instance masks is propagated by
    the random walk, upsampled and normalised by the global maximum; the
    argmax against a constant background plane gives one mask per channel,
    which is split into 4-connected components. Detections come in
    class-major channel order (channel = class * K + instance) and, within a
    channel, in component-label order. A detection's score is the maximum
    normalised random-walk score of its channel inside it; components smaller
    than ``min_area_ratio`` of the image get score 0 but are kept.

    Args:
        cams (torch.Tensor): (C, h, w) strided CAMs of the image's classes.
        keys (Sequence[int]): 0-based class index of each CAM channel.
        edge (torch.Tensor): (h, w) or (1, h, w) boundary probabilities.
        displacement (torch.Tensor): (2, h, w) displacement field (dy, dx).
        image_size (Sequence[int]): Original image size ``(H, W)``.
        beta (float): Random-walk affinity exponent. Defaults to 10.
        exp_times (int): Log2 of the number of walk steps. Defaults to 8.
        radius (int): Random-walk radius. Defaults to 5.
        bg_threshold (float): Constant background score. Defaults to 0.25.
        min_area_ratio (float): Relative area under which a detection gets
            score 0. Defaults to 0.01.
        centroid_iterations (int): Steps of :func:`find_centroids`.
            Defaults to 300.
        centre_threshold (float): Displacement-norm threshold of
            :func:`cluster_centroids`. Defaults to 2.5.
        walk_dtype (str | torch.dtype): dtype of the random walk,
            ``float32`` or ``float64`` (see :func:`random_walk`). Defaults
            to ``torch.float64``.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: ``(scores, masks,
        classes)``: (N,) float64 scores, (N, H, W) bool masks and (N,) int64
        0-based classes.
    """
    height, width = image_size
    disp = to_numpy(displacement)
    centroids = find_centroids(disp, centroid_iterations)
    instances = torch.from_numpy(
        cluster_centroids(centroids, disp, centre_threshold)).to(cams)
    num_instances = instances.shape[0]

    instance_cams = (cams[:, None] * instances[None]).flatten(0, 1)
    rw = random_walk(instance_cams, edge, beta, exp_times, radius,
                     walk_dtype)
    scores = to_numpy(upsample_rw(rw, image_size))
    winner = np.argmax(
        np.concatenate(
            [np.full((1, height, width), bg_threshold, scores.dtype), scores]),
        axis=0)

    min_area = min_area_ratio * height * width
    det_scores, det_masks, det_classes = [], [], []
    for channel, score in enumerate(scores):
        components = connected_components(
            winner == channel + 1, connectivity=1)
        for component in range(1, components.max() + 1):
            mask = components == component
            det_masks.append(mask)
            det_scores.append(
                float(score[mask].max()) if mask.sum() >= min_area else 0.)
            det_classes.append(keys[channel // num_instances])
    return (np.asarray(det_scores, dtype=np.float64),
            np.asarray(det_masks, dtype=bool).reshape(-1, height, width),
            np.asarray(det_classes, dtype=np.int64))
