# Copyright (c) mmwsss contributors. All rights reserved.
"""AffinityNet: pixel-pair semantic affinities and their random walk."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData

from mmwsss.registry import MODELS
from mmwsss.utils.tensor import to_numpy
from ..irn.cam_inputs import sample_cams
from ..irn.irnet import imagenet_preprocessor
from ..irn.random_walk import resolve_walk_dtype
from .functional import (psa_affinity_labels, psa_affinity_loss,
                         psa_pair_affinity, psa_pool_scores, psa_random_walk,
                         psa_rw_to_label, psa_scores_with_background)

# The arrays of the CAM files the random walk needs (PSA walks the CAMs at
# image size, pooled to the feature grid).
_WALK_CAM_ARRAYS = ('keys', 'high_res')


class AffinityHead(nn.Module):
    """AffinityNet's head (PSA ``resnet38_aff`` / ``vgg16_aff``).

    Each backbone tap goes through a 1x1 conv without bias, an optional
    GroupNorm and ELU; the concatenation goes through a 1x1 conv without
    bias and ELU. Initialisation: Kaiming-normal taps, Xavier-uniform fuse
    with gain 4 (PSA's).

    Args:
        in_channels (Sequence[int]): Channels of the taps.
        tap_channels (Sequence[int]): Output channels per tap.
        norm_groups (Sequence[int], optional): GroupNorm groups per tap (the
            VGG-16 AffinityNet); None for none (ResNet-38). Defaults to None.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 tap_channels: Sequence[int] = (64, 128, 256),
                 norm_groups: Optional[Sequence[int]] = None):
        super().__init__()
        if len(in_channels) != len(tap_channels) or (
                norm_groups is not None
                and len(norm_groups) != len(tap_channels)):
            raise ValueError('in_channels, tap_channels and norm_groups must '
                             'have one entry per tap, got '
                             f'{in_channels}, {tap_channels}, {norm_groups}')
        self.taps = nn.ModuleList()
        for i, (cin, cout) in enumerate(zip(in_channels, tap_channels)):
            conv = nn.Conv2d(cin, cout, 1, bias=False)
            nn.init.kaiming_normal_(conv.weight)
            layers = [conv]
            if norm_groups is not None:
                layers.append(nn.GroupNorm(norm_groups[i], cout))
            self.taps.append(nn.Sequential(*layers, nn.ELU()))
        self.out_channels = sum(tap_channels)
        self.fuse = nn.Conv2d(
            self.out_channels, self.out_channels, 1, bias=False)
        nn.init.xavier_uniform_(self.fuse.weight, gain=4)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """(B, sum(tap_channels), h, w) features of the taps."""
        return F.elu(
            self.fuse(torch.cat([tap(x) for tap, x in zip(self.taps, feats)],
                                dim=1)))


@MODELS.register_module()
class AffinityNet(BaseModel):
    """AffinityNet (PSA, Ahn & Kwak, CVPR 2018).

    Paper: https://arxiv.org/abs/1803.10464. A backbone at output stride
    ``stride`` (8; e.g. mmpretrain ``ResNet`` with ``strides=(1, 2, 1, 1)``,
    ``dilations=(1, 1, 2, 4)``) returns the taps of the
    :class:`AffinityHead`; the affinity of two feature pixels is
    ``exp(-mean_c |f_i - f_j|)`` (:func:`mmwsss.functional.psa_pair_affinity`)
    for the pairs of the half disc of ``radius``. Unlike IRNet the backbone
    is trained too.

    Training (``mode='loss'``): the data samples carry the la/ha label of
    :class:`mmwsss.PSALabelGenerator` reduced to the feature grid as
    ``gt_sem_seg`` (:class:`mmwsss.IRLabelDataset`,
    :class:`mmwsss.DownsampleLabel` with ``scale=1/stride``); the pair
    labels (:func:`mmwsss.functional.psa_affinity_labels`) and
    :func:`mmwsss.functional.psa_affinity_loss` give ``loss_aff = bg / 4 +
    fg / 4 + neg / 2``; the three terms are logged. Put the head at 10x the
    learning rate with ``paramwise_cfg=dict(custom_keys={'affinity_head':
    dict(lr_mult=10.)})``.

    Prediction (``mode='predict'``): each image is zero-padded (after
    normalisation) at the bottom/right to a multiple of ``stride`` and its
    pair affinities are stored as ``psa_affinity`` (Ndir, Nsrc) for the grid
    ``(ceil(H / stride), ceil(W / stride))``.

    Args:
        backbone (dict): Backbone config returning the taps.
        in_channels (Sequence[int]): Channels of the taps. Defaults to
            ResNet-50's stages 2-4, ``(512, 1024, 2048)``.
        tap_channels (Sequence[int]): Head channels per tap. Defaults to
            PSA's ``(64, 128, 256)``.
        norm_groups (Sequence[int], optional): GroupNorm groups per tap, or
            None. Defaults to None.
        radius (float): Radius of the pairs. Defaults to 5.
        stride (int): Output stride of the backbone. Defaults to 8.
        ignore_index (int): Unknown label. Defaults to 255.
        data_preprocessor (dict, optional): Defaults to mmengine's
            ``ImgDataPreprocessor`` with the ImageNet mean and std (RGB).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: Sequence[int] = (512, 1024, 2048),
                 tap_channels: Sequence[int] = (64, 128, 256),
                 norm_groups: Optional[Sequence[int]] = None,
                 radius: float = 5,
                 stride: int = 8,
                 ignore_index: int = 255,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=imagenet_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.affinity_head = AffinityHead(in_channels, tap_channels,
                                          norm_groups)
        self.radius = radius
        self.stride = stride
        self.ignore_index = ignore_index

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, C, H / stride, W / stride) AffinityNet features."""
        return self.affinity_head(self.backbone(inputs))

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'tensor'
                ) -> Union[Dict[str, torch.Tensor], list, torch.Tensor]:
        """Run in ``'tensor'`` (features), ``'loss'`` or ``'predict'`` mode.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list, optional): Data samples (``gt_sem_seg`` for
                ``'loss'``, ``img_shape`` for ``'predict'``).
            mode (str): Defaults to ``'tensor'``.

        Returns:
            dict | list | torch.Tensor: Losses, data samples or features.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f'Invalid mode {mode!r}')

    def loss(self, inputs: torch.Tensor,
             data_samples: list) -> Dict[str, torch.Tensor]:
        """The affinity loss against the la/ha labels.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised crops.
            data_samples (list): Samples with ``gt_sem_seg`` of the feature
                grid's size.

        Returns:
            dict[str, torch.Tensor]: ``loss_aff`` and the logged terms
            ``bg_pos_aff``, ``fg_pos_aff``, ``neg_aff``.
        """
        features = self.extract_feat(inputs)
        labels = torch.stack([
            sample.gt_sem_seg.data[0] for sample in data_samples
        ]).to(features.device)
        if labels.shape[-2:] != features.shape[-2:]:
            raise ValueError(
                f'Labels of size {tuple(labels.shape[-2:])} do not match the '
                f'feature grid {tuple(features.shape[-2:])}; reduce them '
                f'with mmwsss.DownsampleLabel(scale=1/{self.stride})')
        bg_pos, fg_pos, neg = psa_affinity_labels(labels, self.radius,
                                                  self.ignore_index)
        losses = psa_affinity_loss(
            psa_pair_affinity(features, self.radius), bg_pos, fg_pos, neg)
        return dict(
            loss_aff=losses['loss_total'],
            bg_pos_aff=losses['loss_bg_pos_aff'].detach(),
            fg_pos_aff=losses['loss_fg_pos_aff'].detach(),
            neg_aff=losses['loss_neg_aff'].detach())

    @torch.no_grad()
    def image_affinity(
            self, img: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Pair affinities of one image (PSA ``infer_aff.py``).

        Args:
            img (torch.Tensor): (3, H, W) normalised image.

        Returns:
            tuple: ``aff`` (Ndir, Nsrc) and the grid ``(h, w)``,
            ``h = ceil(H / stride)``.
        """
        height, width = img.shape[-2:]
        padded = F.pad(img, (0, -width % self.stride, 0,
                             -height % self.stride))
        features = self.extract_feat(padded[None])
        grid = (-(-height // self.stride), -(-width // self.stride))
        if tuple(features.shape[-2:]) != grid:
            raise ValueError('The backbone gives a '
                             f'{tuple(features.shape[-2:])} grid for a '
                             f'{tuple(padded.shape[-2:])} input, '
                             f'not stride {self.stride}')
        return psa_pair_affinity(features, self.radius)[0], grid

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Pair affinities (``psa_affinity``) of each image."""
        for img, sample in zip(inputs, data_samples):
            height, width = sample.img_shape
            sample.psa_affinity, _ = self.image_affinity(
                img[:, :height, :width])
        return data_samples


@MODELS.register_module()
class AffinityNetRandomWalk(AffinityNet):
    """AffinityNet that makes semantic pseudo-masks by random walk (PSA
    ``infer_aff.py``).

    Training is that of :class:`AffinityNet` (so its checkpoints load as
    is). Prediction computes the pair affinities of each image (see
    :class:`AffinityNet`), takes the full-resolution CAMs ``high_res`` and
    their classes ``keys`` from its data sample (``cam_high_res``,
    ``cam_keys``, loaded by ``dict(type='mmwsss.LoadCAMFile', cam_dir=...,
    arrays=('keys', 'high_res'))``), prepends the background
    ``(1 - max cam)**alpha``
    (:func:`mmwsss.functional.psa_scores_with_background`), average-pools
    the scores to the feature grid, propagates every channel, background
    included, with :func:`mmwsss.functional.psa_random_walk` (``beta``,
    ``2**logt`` steps) and labels each pixel by the argmax of the bilinearly
    upsampled result (:func:`mmwsss.functional.psa_rw_to_label`). The result
    is ``pred_sem_seg`` (PixelData (1, H, W), 0 = background, ``k + 1`` =
    class ``k``), to be written by :class:`mmwsss.PseudoMaskWriter` and
    scored by :class:`mmwsss.PseudoMaskMetric`.

    Args:
        alpha (float): Background power. Defaults to 16.
        beta (float): Affinity power. Defaults to 8.
        logt (int): Log2 of the number of walk steps. Defaults to 8.
        walk_dtype (str): dtype of the walk, ``'float64'`` or ``'float32'``.
            Defaults to ``'float64'``.
        **kwargs: Arguments of :class:`AffinityNet`.
    """

    def __init__(self,
                 alpha: float = 16,
                 beta: float = 8,
                 logt: int = 8,
                 walk_dtype: str = 'float64',
                 **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.beta = beta
        self.logt = logt
        # Checked now, not at the first image.
        self.walk_dtype = resolve_walk_dtype(walk_dtype)

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Pair affinities and semantic pseudo-masks of a batch."""
        data_samples = super().predict(inputs, data_samples)
        for sample in data_samples:
            aff = sample.psa_affinity
            cams = sample_cams(sample, _WALK_CAM_ARRAYS)
            high_res = cams['high_res'].to(aff.device)
            if tuple(high_res.shape[1:]) != tuple(sample.img_shape):
                raise ValueError(
                    f'CAMs of {sample.get("img_path")} have size '
                    f'{tuple(high_res.shape[1:])}, the image '
                    f'{tuple(sample.img_shape)}')
            scores = psa_pool_scores(
                psa_scores_with_background(high_res, self.alpha),
                self.stride)
            rw = psa_random_walk(
                scores,
                aff,
                beta=self.beta,
                logt=self.logt,
                radius=self.radius,
                dtype=self.walk_dtype)
            label = psa_rw_to_label(rw, to_numpy(cams['keys']),
                                    tuple(sample.ori_shape), self.stride)
            sample.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        return data_samples
