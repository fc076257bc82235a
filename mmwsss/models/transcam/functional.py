# Copyright (c) mmwsss contributors. All rights reserved.
"""TransCAM attention-aggregated CAMs, BNR refinement and inference fusion.

Attention maps are softmax rows over ``N = 1 + h * w`` tokens with token 0
the class token and the patch tokens in row-major order.
"""
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.utils import to_numpy

_METHODS = ('transcam', 'attnagg', 'clsattn', 'convcam')
_Label = Union[torch.Tensor, np.ndarray, Sequence[float]]

# The reference inference adds 1e-5 to the per-class min and range.
_NORM_EPS = 1e-5


class AttentionAccumulator:
    """Sums head-averaged attention layer by layer without stacking it.

    TransCAM needs ``sum_l mean_heads(attn_l)`` (BNR also the layer mean);
    feeding the maps one by one keeps a single (B, N, N) buffer instead of
    the (L, B, heads, N, N) stack of the reference. Autograd-safe: the
    running sum keeps the graph of the maps it was given.

    Examples:
        >>> acc = AttentionAccumulator()
        >>> for attn in per_layer_attention:  # each (B, heads, N, N)
        ...     acc.add(attn)
        >>> cam = transcam_cam(acc.total, conv_map)
    """

    def __init__(self) -> None:
        self._total: Optional[torch.Tensor] = None
        self.num_layers = 0

    def add(self, attn: torch.Tensor) -> None:
        """Add one layer's attention.

        Args:
            attn (torch.Tensor): (B, heads, N, N) attention of one layer, or
                its (B, N, N) head mean.
        """
        if attn.dim() == 4:
            head_mean = attn.mean(dim=1)
        elif attn.dim() == 3:
            # Copy so the in-place sums below never write into the caller's
            # tensor.
            head_mean = attn.clone()
        else:
            raise ValueError('attn must be (B, heads, N, N) or (B, N, N), '
                             f'got {tuple(attn.shape)}.')
        if self._total is None:
            self._total = head_mean
        else:
            self._total.add_(head_mean)
        self.num_layers += 1

    @property
    def total(self) -> torch.Tensor:
        """torch.Tensor: (B, N, N) sum over layers of the head means."""
        if self._total is None:
            raise RuntimeError('No attention has been added.')
        return self._total

    @property
    def mean(self) -> torch.Tensor:
        """torch.Tensor: (B, N, N) mean over layers of the head means."""
        return self.total / self.num_layers

    def reset(self) -> None:
        """Forget the accumulated attention."""
        self._total = None
        self.num_layers = 0


def _layer_head_reduce(attn: torch.Tensor, reduce: str) -> torch.Tensor:
    # (L, B, heads, N, N) or (L, B, N, N) -> (B, N, N): heads are always
    # averaged, layers summed (TransCAM) or averaged (BNR). A 3-D input is
    # taken as already reduced.
    if attn.dim() == 5:
        attn = attn.mean(dim=2)
    if attn.dim() == 4:
        return attn.sum(dim=0) if reduce == 'sum' else attn.mean(dim=0)
    if attn.dim() == 3:
        return attn
    raise ValueError('attn must be (L, B, heads, N, N), (L, B, N, N) or '
                     f'(B, N, N), got {tuple(attn.shape)}.')


def _check_tokens(attn: torch.Tensor, maps: torch.Tensor) -> None:
    batch, _, height, width = maps.shape
    if attn.shape != (batch, height * width + 1, height * width + 1):
        raise ValueError(
            f'attention {tuple(attn.shape)} does not match {batch} maps of '
            f'{height}x{width} patches plus a class token.')


def transcam_cam(attn: torch.Tensor,
                 conv_map: torch.Tensor,
                 method: str = 'transcam') -> torch.Tensor:
    """Class maps of TransCAM and its ablations.

    With ``A`` the attention summed over layers and averaged over heads,
    ``P = A[:, 1:, 1:]`` its patch-to-patch part and ``X`` the conv-head map
    flattened to (B, C, hw):

    * ``'transcam'``: ``cam[b, c, i] = sum_j P[b, i, j] X[b, c, j]``;
    * ``'attnagg'``: the same with ``P`` transposed;
    * ``'clsattn'``: ``A[:, 0, 1:]`` (class token to patches) times ``X``
      element-wise;
    * ``'convcam'``: ``X`` itself.

    Layers are summed, not averaged, and there is no ReLU, as in the
    reference. Unlike the reference, the token grid may be non-square: it is
    taken from ``conv_map``.

    Args:
        attn (torch.Tensor): Softmax attention stack (L, B, heads, N, N), its
            head mean (L, B, N, N), or the aggregated ``A`` (B, N, N) (e.g.
            :attr:`AttentionAccumulator.total`).
        conv_map (torch.Tensor): (B, C, h, w) conv-head output, ``N = 1 + hw``.
        method (str): One of ``'transcam'``, ``'attnagg'``, ``'clsattn'``,
            ``'convcam'``. Defaults to ``'transcam'``.

    Returns:
        torch.Tensor: (B, C, h, w) class maps.
    """
    if method not in _METHODS:
        raise ValueError(f'method must be one of {_METHODS}, got {method!r}.')
    if method == 'convcam':
        return conv_map
    aggregated = _layer_head_reduce(attn, 'sum')
    _check_tokens(aggregated, conv_map)
    batch, channels, height, width = conv_map.shape
    if method == 'clsattn':
        return aggregated[:, 0, 1:].reshape(batch, 1, height, width) * conv_map
    patches = aggregated[:, 1:, 1:]
    if method == 'attnagg':
        patches = patches.transpose(1, 2)
    flat = conv_map.reshape(batch, channels, height * width)
    return torch.bmm(flat, patches.transpose(1, 2)).reshape(conv_map.shape)


def bnr_refine(attn: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
    """BNR's second attention propagation of the TransCAM maps.

    ``R[b, c, i] = sum_j Pm[b, i, j] cams[b, c, j]`` with ``Pm`` the
    patch-to-patch part of the attention averaged over heads *and layers*,
    detached (``cams`` keeps its graph). The global average of ``R`` gives
    the BNR "fine" logits.

    The shipped BNR code (i2mond/BNR) does not run; this implements what its
    comments describe, with two fixes: (1) it averages the already
    head-averaged stack a second time over dim 2 (the query axis), which
    leaves a (B, N) map that cannot be indexed ``[:, 1:, 1:]``: that mean is
    dropped; (2) it pools with an undefined ``self.avgpooling``: the global
    average pooling the class defines is meant.

    Args:
        attn (torch.Tensor): Softmax attention stack (L, B, heads, N, N), its
            head mean (L, B, N, N), or the layer-and-head mean (B, N, N)
            (e.g. :attr:`AttentionAccumulator.mean`).
        cams (torch.Tensor): (B, C, h, w) TransCAM maps, ``N = 1 + hw``.

    Returns:
        torch.Tensor: (B, C, h, w) refined maps.
    """
    averaged = _layer_head_reduce(attn, 'mean').detach()
    _check_tokens(averaged, cams)
    batch, channels, height, width = cams.shape
    flat = cams.reshape(batch, channels, height * width)
    refined = torch.bmm(flat, averaged[:, 1:, 1:].transpose(1, 2))
    return refined.reshape(cams.shape)


def transcam_losses(
        conv_logits: torch.Tensor,
        trans_logits: torch.Tensor,
        labels: torch.Tensor,
        fine_logits: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
    """TransCAM classification loss, plus BNR's loss on the refined maps.

    The logits have a background column 0 that is never supervised; the
    multilabel soft margin loss runs on the foreground columns. TransCAM uses
    one loss on the *sum* of the conv and transformer logits.

    Args:
        conv_logits (torch.Tensor): (B, 1 + C) GAP of the conv-head map.
        trans_logits (torch.Tensor): (B, 1 + C) class-token head logits.
        labels (torch.Tensor): (B, C) multi-hot foreground labels.
        fine_logits (torch.Tensor, optional): (B, 1 + C) GAP of the BNR
            refined map (:func:`bnr_refine`); None for plain TransCAM.
            Defaults to None.

    Returns:
        dict[str, torch.Tensor]: ``loss_cls`` and, with ``fine_logits``,
        ``loss_bnr``; the training loss is their sum.
    """
    labels = labels.to(conv_logits.dtype)
    losses = dict(
        loss_cls=F.multilabel_soft_margin_loss((conv_logits +
                                                trans_logits)[:, 1:], labels))
    if fine_logits is not None:
        losses['loss_bnr'] = F.multilabel_soft_margin_loss(
            fine_logits[:, 1:], labels)
    return losses


def _maps_device(maps: Sequence[Union[torch.Tensor,
                                      np.ndarray]]) -> torch.device:
    # The fusion runs where the first map tensor lives (arrays: the CPU), so
    # maps straight from the network never leave the GPU.
    for cam in maps:
        if isinstance(cam, torch.Tensor):
            return cam.device
    return torch.device('cpu')


def fuse_transcam_cams(cams_per_forward: Sequence[Union[torch.Tensor,
                                                        np.ndarray]],
                       flips: Sequence[bool], image_size: Tuple[int, int],
                       label: _Label) -> torch.Tensor:
    """Sum multi-scale, flipped TransCAM maps as ``infer_TransCAM.py`` does.

    Per forward: drop the background channel 0, resize bilinearly
    (``align_corners=False``) to ``image_size``, multiply by the label
    vector and, for a flipped input, flip the *resized* map back; then sum
    over the forwards. Negative values are kept. Runs on the device of the
    first map tensor (the CPU if all maps are arrays); the other maps and
    the label are moved there.

    Args:
        cams_per_forward (Sequence[torch.Tensor | np.ndarray]): One map per
            forward, (1, 1 + C, h_i, w_i) or (1 + C, h_i, w_i).
        flips (Sequence[bool]): Whether each forward saw the flipped image.
        image_size (tuple[int, int]): Original (H, W).
        label (torch.Tensor | np.ndarray | Sequence[float]): (C,) image
            label vector, on any device.

    Returns:
        torch.Tensor: float32 (C, H, W) summed maps, on the maps' device.
    """
    if len(cams_per_forward) != len(flips) or not flips:
        raise ValueError('Need one flip flag per forward and at least one '
                         f'forward, got {len(cams_per_forward)} maps and '
                         f'{len(flips)} flags.')
    device = _maps_device(cams_per_forward)
    label = torch.as_tensor(label, dtype=torch.float32, device=device)
    total = None
    for cam, flip in zip(cams_per_forward, flips):
        cam = torch.as_tensor(cam, dtype=torch.float32, device=device)
        if cam.dim() == 3:
            cam = cam[None]
        cam = F.interpolate(cam[:, 1:],
                            size=tuple(image_size),
                            mode='bilinear',
                            align_corners=False)[0] * label[:, None, None]
        if flip:
            cam = cam.flip(-1)
        # A running sum: one (C, H, W) buffer instead of a stack.
        total = cam if total is None else total + cam
    return total


def normalize_transcam_inference(
        cams_per_forward: Sequence[Union[torch.Tensor,
                                         np.ndarray]], flips: Sequence[bool],
        image_size: Tuple[int, int], label: _Label) -> torch.Tensor:
    """Fused and per-class normalised TransCAM maps (``infer_TransCAM.py``).

    The sum of :func:`fuse_transcam_cams` is clamped at 0 and each class is
    normalised with its min ``m`` and max ``M``: values below ``m + 1e-5``
    become 0, then ``v' = (v - m - 1e-5) / (M - m + 1e-5)``.

    Reference quirk, kept: zeroed pixels end slightly negative,
    ``-(m + 1e-5) / (M - m + 1e-5)``, and a class whose sum is <= 0
    everywhere (every class outside the label, and a labelled class the
    network missed) is -1 everywhere.

    Args:
        cams_per_forward, flips, image_size, label: The arguments of
            :func:`fuse_transcam_cams`.

    Returns:
        torch.Tensor: float32 (C, H, W) normalised maps of all classes, on
        the maps' device (see :func:`fuse_transcam_cams`).
    """
    total = fuse_transcam_cams(cams_per_forward, flips, image_size,
                               label).clamp(min=0)
    low = total.amin(dim=(1, 2), keepdim=True)
    high = total.amax(dim=(1, 2), keepdim=True)
    total = torch.where(total < low + _NORM_EPS, torch.zeros_like(total),
                        total)
    return (total - low - _NORM_EPS) / (high - low + _NORM_EPS)


def transcam_seed_label(norm_cams: Union[torch.Tensor, np.ndarray],
                        label: _Label, bg_threshold: float) -> np.ndarray:
    """Background/foreground seeds from normalised maps, before the CRF.

    Arg-max over a constant background plane ``bg_threshold`` and the maps
    of the labelled classes (``label > 1e-5``) at channel ``k + 1``; other
    classes take part as zeros, so they never win. The reference feeds this
    to a dense CRF (thresholds 0.60 and 0.25 for PSA) that is not applied
    here. The arg-max runs on the device of ``norm_cams``; only the uint8
    labels are copied to the host.

    Args:
        norm_cams (torch.Tensor | np.ndarray): (C, H, W) maps from
            :func:`normalize_transcam_inference`.
        label (torch.Tensor | np.ndarray | Sequence[float]): (C,) image
            label vector, on any device.
        bg_threshold (float): Background score.

    Returns:
        np.ndarray: uint8 (H, W) labels, 0 = background, k + 1 = class k.
    """
    norm_cams = torch.as_tensor(norm_cams).detach()
    labelled = torch.as_tensor(label, device=norm_cams.device) > 1e-5
    # A mask instead of the labelled indices: no host round trip.
    class_scores = torch.where(labelled[:, None, None], norm_cams,
                               torch.zeros_like(norm_cams))
    background = torch.full_like(norm_cams[:1], bg_threshold)
    # argmax takes the first maximum on ties, as np.argmax.
    seeds = torch.cat([background, class_scores]).argmax(dim=0)
    return to_numpy(seeds.to(torch.uint8))
