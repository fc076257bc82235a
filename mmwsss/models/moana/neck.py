# Copyright (c) mmwsss contributors. All rights reserved.
"""MoANA / RFGA: fine-grained triple-view attention for WSOL and WSSS."""
from abc import abstractmethod
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmwsss.registry import MODELS

VIEWS = ('channel', 'height', 'width')
CALIBRATIONS = ('residual', 'multiply', 'affine')


class BaseAttentionNeck(BaseModule):
    """Base class of the necks that re-weight a feature map in place.

    Such a neck keeps the shape of the map, so the same class serves as an
    mmpretrain neck and between the backbone and the heads of an mmseg or
    mmdet model:

    - a tensor input gives a tensor output;
    - a tuple (or list) of multi-level features gives a tuple of the same
      length in which only the element at ``in_index`` is calibrated and the
      others are passed through unchanged. The default ``-1`` is the last
      stage, which is where the papers put the attention and what mmpretrain
      heads read (``feats[-1]``).

    Subclasses implement :meth:`forward_with_attention`.

    Args:
        in_index (int): Index of the calibrated element when the input is a
            tuple of features. Defaults to -1.
        init_cfg (dict or list[dict], optional): Initialization config dict.
            Defaults to None.
    """

    def __init__(self,
                 in_index: int = -1,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(init_cfg=init_cfg)
        self.in_index = in_index

    @abstractmethod
    def forward_with_attention(self,
                               x: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Calibrate a map and return the attentions that were applied.

        Args:
            x (Tensor): Feature map of shape (B, C, H, W).

        Returns:
            tuple[Tensor, dict[str, Tensor]]: The calibrated map (B, C, H, W)
            and the attention maps, keyed by name.
        """

    def forward(
        self, inputs: Union[Tensor, Sequence[Tensor]]
    ) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Calibrate a map, or the selected map of a multi-level tuple.

        Args:
            inputs (Tensor | Sequence[Tensor]): A map (B, C, H, W) or a tuple
                of maps.

        Returns:
            Tensor | tuple[Tensor]: A tensor for a tensor input, else a tuple
            of the same length; shapes are unchanged.
        """
        if isinstance(inputs, Tensor):
            return self.forward_with_attention(inputs)[0]
        if isinstance(inputs, (tuple, list)):
            outs = list(inputs)
            outs[self.in_index] = self.forward_with_attention(
                outs[self.in_index])[0]
            return tuple(outs)
        raise TypeError('neck inputs should be a tensor or a tuple of '
                        f'tensors, got {type(inputs)}')


@MODELS.register_module()
class MoANA(BaseAttentionNeck):
    """Module of Axis-based Nexus Attention (MoANA), also known as RFGA.

    Paper: `Module of Axis-based Nexus Attention for weakly supervised object
    localization <https://doi.org/10.1038/s41598-023-45796-8>`_ (Sci. Rep.
    2023), the journal version of `Fine-Grained Attention for Weakly
    Supervised Object Localization <https://arxiv.org/abs/2104.04952>`_
    (RFGA).

    For a map X of shape (B, C, H, W):

    1. Triple-view attention (MoANA Eqs. 1-6): the pooled views
       ``c = mean_{H,W} X`` (B, C, 1, 1), ``h = mean_W X`` (B, C, H, 1) and
       ``w = mean_H X`` (B, C, 1, W) each go through a 1-D convolution (kernel
       ``kernel_size``, zero padding, no bias), a norm layer and a sigmoid,
       giving ``z_c``, ``z_h`` and ``z_w``. As in the official code, the
       channel convolution is a single 1 -> 1 kernel that slides along the
       channel axis (ECA-style), while the height and width convolutions are
       dense C -> C ``Conv1d`` that slide along H and W.
    2. Attention expansion (MoANA Eqs. 7-9): the broadcast (outer) sum
       ``M = z_c + z_h + z_w`` of shape (B, C, H, W), in (0, 3). RFGA Eq. 7
       applies a further sigmoid, ``M = sigmoid(z_c + z_h + z_w)``
       (``sigmoid_after_sum=True``); the official code does not.
    3. Feature calibration, selected by ``calibration``:

       - ``'residual'``: ``X + X * M = X * (1 + M)`` (MoANA Eq. 10, RFGA
         Eq. 8 "residual"; the official WSOL module).
       - ``'multiply'``: ``X * M`` (RFGA Eq. 8 "non-residual", MoANA Table 4
         "w/o combination").
       - ``'affine'``: ``X * (a + b * M)`` with ``(a, b) = affine``. The
         official WSSS (pseudo-mask) module uses ``(0.35, 0.65)``; this form
         is in neither paper.

    With the defaults the module matches the official WSOL module and with
    ``calibration='affine'`` the official WSSS module (both checked against
    the reference outputs). Official weights are renamed by
    ``tools/model_converters/moana2mmwsss.py`` (``conv_c``, ``conv_h``,
    ``conv_w``, ``bn1``, ``bn2``, ``bn3`` -> ``convs.{channel,height,width}``
    and ``norms.{channel,height,width}``).

    Notes:
        - The dense height and width convolutions hold ``k * C**2`` weights
          each, about 25.2 M parameters in total for C = 2048 and k = 3.
          ``depthwise=True`` (``groups=C``, ``k * C`` weights each) is a
          cheaper variant that is **not** from the papers.
        - With BatchNorm, the channel view is normalised over the batch only
          (its map is 1 x 1), so training needs at least two images per
          device. For a batch holding an image and its flip, both images have
          the same ``c`` and ``z_c = sigmoid(beta)`` in training mode.
        - Without ``init_cfg`` the convolutions keep PyTorch's default
          initialisation, as in the official code.

    Args:
        in_channels (int): Number of channels C of the calibrated map.
        kernel_size (int): Odd kernel size k of the 1-D convolutions.
            Defaults to 3.
        views (Sequence[str]): Views to use, a non-empty subset of
            ``('channel', 'height', 'width')``; fewer views reproduce the view
            ablation of RFGA Table 3. Defaults to all three.
        calibration (str): ``'residual'``, ``'multiply'`` or ``'affine'``,
            see above. Defaults to ``'residual'``.
        affine (tuple[float, float]): Offset and scale ``(a, b)`` of the
            ``'affine'`` calibration; ignored by the other calibrations.
            Defaults to ``(0.35, 0.65)``.
        sigmoid_after_sum (bool): Whether to squash the expanded attention
            with a sigmoid (RFGA Eq. 7). Defaults to False.
        depthwise (bool): Whether the height and width convolutions are
            depthwise (``groups=C``), a non-paper cheaper variant. Defaults to
            False.
        norm_cfg (dict): Config of the norm layer of each view, applied to
            the 4-D maps (B, C, 1, 1), (B, C, H, 1) and (B, C, 1, W).
            Defaults to ``dict(type='BN')``.
        in_index (int): Index of the calibrated element when the input is a
            tuple of features. Defaults to -1.
        init_cfg (dict or list[dict], optional): Initialization config dict.
            Defaults to None.

    Examples:
        >>> import torch
        >>> neck = MoANA(in_channels=16).eval()
        >>> feats = (torch.rand(2, 8, 14, 14), torch.rand(2, 16, 7, 7))
        >>> [out.shape for out in neck(feats)]
        [torch.Size([2, 8, 14, 14]), torch.Size([2, 16, 7, 7])]
        >>> out, att = neck.forward_with_attention(feats[1])
        >>> sorted(att)
        ['channel', 'full', 'height', 'width']
    """

    def __init__(self,
                 in_channels: int,
                 kernel_size: int = 3,
                 views: Sequence[str] = VIEWS,
                 calibration: str = 'residual',
                 affine: Tuple[float, float] = (0.35, 0.65),
                 sigmoid_after_sum: bool = False,
                 depthwise: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 in_index: int = -1,
                 init_cfg: Optional[Union[dict, list]] = None):
        super().__init__(in_index=in_index, init_cfg=init_cfg)
        # An even kernel cannot keep the length with symmetric zero padding.
        if kernel_size % 2 != 1:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        views = tuple(views)
        unique = set(views)
        if not views or len(unique) != len(views) or not unique <= set(VIEWS):
            raise ValueError(f'views must be a non-empty subset of {VIEWS} '
                             f'without repeats, got {views}')
        if calibration not in CALIBRATIONS:
            raise ValueError(f'calibration must be one of {CALIBRATIONS}, '
                             f'got {calibration!r}')
        self.in_channels = in_channels
        self.kernel_size = kernel_size
        self.calibration = calibration
        self.affine = tuple(affine)
        self.sigmoid_after_sum = sigmoid_after_sum
        self.depthwise = depthwise
        # (a, b) of y = x * (a + b * M); multiplying by exactly 1.0 or adding
        # 0.0 is exact, so one formula covers all three calibrations.
        self._calibration_factors = {
            'residual': (1.0, 1.0),
            'multiply': (0.0, 1.0),
            'affine': self.affine,
        }[calibration]

        padding = kernel_size // 2
        self.convs = nn.ModuleDict()
        self.norms = nn.ModuleDict()
        for view in VIEWS:  # canonical order, whatever the order of `views`
            if view not in views:
                continue
            if view == 'channel':
                conv = nn.Conv1d(
                    1, 1, kernel_size, padding=padding, bias=False)
            else:
                conv = nn.Conv1d(
                    in_channels,
                    in_channels,
                    kernel_size,
                    padding=padding,
                    groups=in_channels if depthwise else 1,
                    bias=False)
            self.convs[view] = conv
            self.norms[view] = build_norm_layer(norm_cfg, in_channels)[1]

    def _view_attention(self, view: str, x: Tensor) -> Tensor:
        """Pool, convolve, normalise and squash one view of ``x``."""
        b, c = x.shape[:2]
        if view == 'channel':
            # (B, 1, C): the kernel slides along the channel axis.
            z = self.convs[view](x.mean(dim=(2, 3)).unsqueeze(1))
            z = z.view(b, c, 1, 1)
        elif view == 'height':
            z = self.convs[view](x.mean(dim=3)).unsqueeze(3)
        else:
            z = self.convs[view](x.mean(dim=2)).unsqueeze(2)
        return torch.sigmoid(self.norms[view](z))

    def forward_with_attention(self,
                               x: Tensor) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Calibrate a map; the attentions are one entry per used view,
        ``'channel'`` (B, C, 1, 1), ``'height'`` (B, C, H, 1) and ``'width'``
        (B, C, 1, W), and ``'full'``, the expanded attention M (B, C, H, W).
        """
        attentions = {
            view: self._view_attention(view, x)
            for view in self.convs
        }
        full = None
        for att in attentions.values():
            full = att if full is None else full + att
        if self.sigmoid_after_sum:
            full = torch.sigmoid(full)
        offset, scale = self._calibration_factors
        out = x * (offset + scale * full)
        attentions['full'] = full.expand_as(x)
        return out, attentions
