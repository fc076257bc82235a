# Copyright (c) mmwsss contributors. All rights reserved.
"""A CAM head with FickleNet's per-window random hidden-unit selection."""
from typing import Optional, Tuple

import torch
import torch.nn as nn

from mmwsss.registry import MODELS
from ..heads.cam_head import CAMHead
from .functional import ficklenet_conv, window_dropout_mask


@MODELS.register_module()
class FickleNetCAMHead(CAMHead):
    """:class:`CAMHead` whose classifier is a k x k convolution with
    FickleNet dropout (dissertation §3.2.1).

    The classifier is a bias-free k x k convolution (stride 1, "same"
    padding) from the features to the classes, computed with the map
    expansion trick (:func:`mmwsss.functional.ficklenet_conv`): the last
    feature map is expanded so that every window gets its own k x k block,
    dropout is applied to the expanded map with a fresh mask per window
    position (:func:`mmwsss.functional.window_dropout_mask`), and a
    convolution with stride = kernel = k gives the class maps. These raw
    maps are the CAMs of the head: the logits are their spatial mean (GAP
    and the convolution commute), exactly as the 1x1 CAM of
    :class:`CAMHead`, but every position is scored with its own random
    subset of its window's hidden units. (FickleNet's paper computes
    Grad-CAM on the feature map instead; the class maps of the expanded
    convolution are the CAM analogue that needs no backward pass and keeps
    :class:`mmwsss.CAMClassifier`'s inference unchanged.)

    The dropout is on at training **and** at inference (``model.eval()``
    does not switch it off): each call of ``forward_cams`` is one
    stochastic localization map. :class:`mmwsss.FickleNetClassifier` draws
    and aggregates many; with :class:`mmwsss.CAMClassifier` each image gets
    one draw.

    A checkpoint of a :class:`CAMHead` (1x1 classifier) loads into this head:
    its (K, C, 1, 1) weight is placed at the centre tap and the other taps
    are zero (``init_from_1x1='center'``: the network then starts as the
    plain CAM classifier, and since centres are never dropped, as its exact
    CAM) or spread evenly as weight / k^2 over all taps (``'uniform'``).

    Args:
        kernel_size (int): Window size k (odd). Defaults to 3.
        drop_prob (float): Dropout rate p of the off-centre hidden units.
            Defaults to 0.9: a high rate keeps the draws different from each
            other (the dissertation does not state its value).
        center_fixed (bool): Never drop a window's centre. Defaults to True.
        channel_shared (bool): One mask per spatial hidden unit, shared by
            all channels (True), or one per channel (False). Defaults to
            True.
        init_from_1x1 (str): How a (K, C, 1, 1) checkpoint weight is
            loaded: ``'center'`` or ``'uniform'``. Defaults to ``'center'``.
        draws_per_batch (int): Draws of one ``forward_cams`` call that are
            masked and convolved at once. Each holds its own masked copy of
            the expanded map (B x C x Hk x Wk: 0.4 GiB for an image and its
            flip at VOC scale 2.0 with ResNet-50), so this bounds the peak
            memory of stochastic inference; the maps do not depend on it.
            Defaults to 1.
        **kwargs: Arguments of :class:`CAMHead` (``num_classes``,
            ``in_channels``, ``multi_label``, ``bias``, ``loss``, ...).
    """

    def __init__(self,
                 kernel_size: int = 3,
                 drop_prob: float = 0.9,
                 center_fixed: bool = True,
                 channel_shared: bool = True,
                 init_from_1x1: str = 'center',
                 draws_per_batch: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        if init_from_1x1 not in ('center', 'uniform'):
            raise ValueError("init_from_1x1 must be 'center' or 'uniform', "
                             f'got {init_from_1x1!r}')
        if draws_per_batch < 1:
            raise ValueError(
                f'draws_per_batch must be >= 1, got {draws_per_batch}')
        self.kernel_size = kernel_size
        self.drop_prob = drop_prob
        self.center_fixed = center_fixed
        self.channel_shared = channel_shared
        self.init_from_1x1 = init_from_1x1
        self.draws_per_batch = draws_per_batch
        self.classifier = nn.Conv2d(
            self.in_channels,
            self.num_classes,
            kernel_size,
            stride=kernel_size,
            bias=self.classifier.bias is not None)

    def forward_cams(self,
                     feats: Tuple[torch.Tensor],
                     generator: Optional[torch.Generator] = None,
                     num_draws: int = 1) -> torch.Tensor:
        """Stochastic draws of the raw class maps.

        The draws go through the masked convolution ``draws_per_batch`` at
        a time. Masks shared by the channels are small: they are drawn for
        all N draws in one call and the features are expanded once, so the
        random stream does not depend on ``draws_per_batch``. Per-channel
        masks are as large as the expanded map, so they are drawn (and the
        features expanded) per batch: the same masks on the CPU, whose
        generator fills tensors sequentially, but on CUDA masks that depend
        on ``draws_per_batch``.

        Args:
            feats (tuple[Tensor]): Feature maps; the last one (B, C, H, W)
                is used.
            generator (torch.Generator, optional): Source of the dropout
                masks (on any device: see
                :func:`mmwsss.functional.window_dropout_mask`); None uses
                the global generator of the features' device.
            num_draws (int): Number N of independent draws. Defaults to 1.

        Returns:
            Tensor: (N * B, num_classes, H, W), draw-major.
        """
        x = feats[-1]
        weight, bias = self.classifier.weight, self.classifier.bias
        if self.drop_prob == 0:
            cams = ficklenet_conv(x, weight, None, bias)
            return cams.repeat(num_draws, 1, 1, 1)

        def draw_masks(n: int) -> torch.Tensor:
            return window_dropout_mask(
                n * x.shape[0],
                x.shape[-2:],
                self.kernel_size,
                self.drop_prob,
                channels=1 if self.channel_shared else x.shape[1],
                center_fixed=self.center_fixed,
                generator=generator,
                device=x.device,
                dtype=x.dtype).unflatten(0, (n, x.shape[0]))

        if self.channel_shared:
            return ficklenet_conv(x, weight, draw_masks(num_draws), bias,
                                  self.draws_per_batch)
        step = self.draws_per_batch
        return torch.cat([
            ficklenet_conv(x, weight,
                           draw_masks(min(step, num_draws - start)), bias)
            for start in range(0, num_draws, step)
        ])

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Class logits (B, num_classes) of one stochastic draw."""
        return self.forward_cams(feats).mean(dim=(2, 3))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs):
        key = prefix + 'classifier.weight'
        weight = state_dict.get(key)
        k = self.kernel_size
        if weight is not None and weight.dim() == 4 and k > 1 and \
                tuple(weight.shape[-2:]) == (1, 1):
            # A CAMHead checkpoint: embed its 1x1 classifier in k x k.
            full = weight.new_zeros(*weight.shape[:2], k, k)
            if self.init_from_1x1 == 'center':
                full[..., k // 2, k // 2] = weight[..., 0, 0]
            else:
                full[:] = weight / (k * k)
            state_dict[key] = full
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
