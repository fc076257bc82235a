# Copyright (c) mmwsss contributors. All rights reserved.
"""IRNet: class-boundary and displacement fields on a frozen backbone."""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_reduce
from mmengine.model import BaseModel
from mmengine.structures import InstanceData, PixelData

from mmwsss.registry import MODELS
from mmwsss.utils.tensor import to_numpy
from ..utils.checks import check_fraction, check_int_at_least, check_positive
from .cam_inputs import sample_cams, warn_cam_dir_deprecated
from .instance import instance_labels
from .losses import irn_losses
from .path_index import PathIndex, get_path_index, take_last
from .random_walk import (random_walk, resolve_walk_dtype,
                          rw_to_semantic_label)

IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]


def imagenet_preprocessor(data_preprocessor: Optional[dict]) -> dict:
    """``data_preprocessor``, or by default an ``ImgDataPreprocessor``
    normalising RGB images with the ImageNet mean and std."""
    if data_preprocessor is not None:
        return data_preprocessor
    return dict(
        type='ImgDataPreprocessor', mean=IMAGENET_MEAN, std=IMAGENET_STD)
# The arrays of the CAM files the random walks need.
_WALK_CAM_ARRAYS = ('keys', 'strided')


def _conv_gn(in_channels: int,
             out_channels: int,
             groups: int,
             upsample: int = 1) -> nn.Sequential:
    """1x1 conv -> GroupNorm -> (bilinear upsample) -> ReLU, as IRNet."""
    layers = [
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.GroupNorm(groups, out_channels)
    ]
    if upsample > 1:
        layers.append(
            nn.Upsample(
                scale_factor=upsample, mode='bilinear', align_corners=False))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def _crop(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    return x[..., :size[0], :size[1]]


def _walk_cams(sample,
               cam_dir: Optional[str]) -> Tuple[torch.Tensor, np.ndarray]:
    """The strided CAMs of a predicted sample, on the device of its boundary
    map and checked against it, and their classes (on the host)."""
    cams = sample_cams(sample, _WALK_CAM_ARRAYS, cam_dir)
    edge = sample.irn_edge
    strided = cams['strided'].to(edge.device)
    if strided.shape[1:] != edge.shape:
        raise ValueError(
            f'Strided CAMs of {sample.get("img_path")} have size '
            f'{tuple(strided.shape[1:])}, the boundary map '
            f'{tuple(edge.shape)}')
    return strided, to_numpy(cams['keys'])


def pair_labels(labels: torch.Tensor,
                path_index: PathIndex,
                ignore_index: int = 255
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batched, on-device :func:`mmwsss.functional.affinity_labels`.

    Identical to it for label maps whose values are ``0..C`` and
    ``ignore_index``; gathering on the model's device avoids moving ~2M
    pair labels per 128x128 sample through the data loader.

    Args:
        labels (torch.Tensor): (B, H, W) integer labels on the path-index
            grid, 0 = background.
        path_index (PathIndex): Pairs on the (H, W) grid.
        ignore_index (int): Label of unknown pixels. Defaults to 255.

    Returns:
        tuple[torch.Tensor]: ``(bg_pos, fg_pos, neg)``, bool
        (B, Ndir, Nsrc) each.
    """
    flat = labels.reshape(labels.shape[0], -1).long()
    _, src_idx, dst_idx = path_index.tensors(labels.device)
    src = take_last(flat, src_idx).unsqueeze(1)
    dst = take_last(flat, dst_idx)
    valid = (src != ignore_index) & (dst != ignore_index)
    equal = src == dst
    bg_pos = valid & equal & (src == 0)
    fg_pos = valid & equal & (src > 0)
    neg = valid & ~equal
    return bg_pos, fg_pos, neg


@MODELS.register_module()
class IRNet(BaseModel):
    """Inter-pixel relation network (IRNet, Ahn et al., CVPR 2019).

    Paper: https://arxiv.org/abs/1904.05044. Two branches of 1x1 convs on the
    taps of a **frozen** backbone (parameters without gradient, always in
    eval mode, run without autograd) predict at stride 4 a class-boundary
    logit and a displacement field (dy, dx) in feature pixels. The taps are
    ``x1`` = the output of the backbone module ``stem_module`` (the stem
    after max pooling, stride 4) and the four stage outputs (strides 4, 8,
    16, 16, i.e. an mmpretrain ``ResNet`` with ``strides=(1, 2, 2, 1)`` and
    ``out_indices=(0, 1, 2, 3)``). Every block is 1x1 conv (no bias) ->
    GroupNorm -> (bilinear upsample) -> ReLU; upsampled maps are cropped to
    the reference size:

    - boundary: 5 x 32 channels (GN 4), taps 3/4/5 upsampled x2/x4/x4,
      concatenated (160) -> 1x1 conv with bias -> logit;
    - displacement: taps to 64 (GN 8), 128, 256, 256, 256 (GN 16), taps 4/5
      upsampled x2; ``concat(d3, d4, d5)`` (768) -> 256 up x2;
      ``concat(d1, d2, d6)`` (448) -> 256 -> 1x1 conv without bias -> 2.
      In eval mode the stored mean displacement ``displacement_mean`` is
      subtracted (the reference's ``MeanShift``); it is estimated after
      training by :meth:`estimate_mean_shift` (see
      :class:`mmwsss.DisplacementMeanShiftHook`).

    Training (``mode='loss'``): the data samples carry the IR label reduced
    to the stride-4 grid as ``gt_sem_seg`` (see :class:`mmwsss.IRLabelDataset`
    and :class:`mmwsss.DownsampleLabel`); pair labels for the half disc of
    ``radius`` (10) are gathered on the device (:func:`pair_labels`) and
    :func:`mmwsss.functional.irn_losses` gives
    ``loss_aff = (pos + neg) / 2`` and ``loss_dp = (dp_fg + dp_bg) / 2``,
    whose sum is the reference's total loss; the four terms are logged.
    Put the displacement branch at 10x the learning rate with
    ``paramwise_cfg=dict(custom_keys={'displacement_': dict(lr_mult=10.)})``.

    Prediction (``mode='predict'``, reference ``EdgeDisplacement``): per
    image, the image and its flip are zero-padded (after normalisation) at
    the bottom/right to ``test_pad_size`` (or the next multiple of 16 for
    larger images); the boundary map is sigmoid of the mean of the two
    logits (the flip's flipped back), the displacement comes from the image
    alone; both are cropped to ``((H - 1) // 4 + 1, (W - 1) // 4 + 1)`` and
    stored as ``irn_edge`` (h, w) and ``irn_displacement`` (2, h, w).

    Args:
        backbone (dict): Backbone config; it must return the four stage
            maps, e.g. mmpretrain ``ResNet(depth=50, strides=(1, 2, 2, 1),
            out_indices=(0, 1, 2, 3))``.
        in_channels (Sequence[int]): Channels of the five taps. Defaults to
            ResNet-50's ``(64, 256, 512, 1024, 2048)``.
        stem_module (str): Name of the backbone submodule whose output is
            the first tap. Defaults to ``'maxpool'``.
        radius (float): Radius of the training pairs. Defaults to 10.
        ignore_index (int): Unknown label of the IR labels. Defaults to 255.
        test_pad_size (int): Side of the padded test input. Defaults to 512.
        data_preprocessor (dict, optional): Defaults to mmengine's
            ``ImgDataPreprocessor`` with the ImageNet mean and std (RGB).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: Sequence[int] = (64, 256, 512, 1024, 2048),
                 stem_module: str = 'maxpool',
                 radius: float = 10,
                 ignore_index: int = 255,
                 test_pad_size: int = 512,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            data_preprocessor=imagenet_preprocessor(data_preprocessor),
            init_cfg=init_cfg)
        if len(in_channels) != 5:
            raise ValueError('in_channels must list the channels of the five '
                             f'taps (stem + 4 stages), got {in_channels}')
        self.backbone = MODELS.build(backbone)
        self.backbone.requires_grad_(False)
        self.stem_module = stem_module
        self.backbone.get_submodule(stem_module)  # fail early if absent
        self.radius = radius
        self.ignore_index = ignore_index
        self.test_pad_size = test_pad_size

        c1, c2, c3, c4, c5 = in_channels
        self.edge_taps = nn.ModuleList([
            _conv_gn(c1, 32, 4),
            _conv_gn(c2, 32, 4),
            _conv_gn(c3, 32, 4, upsample=2),
            _conv_gn(c4, 32, 4, upsample=4),
            _conv_gn(c5, 32, 4, upsample=4),
        ])
        self.edge_fuse = nn.Conv2d(160, 1, 1, bias=True)
        self.displacement_taps = nn.ModuleList([
            _conv_gn(c1, 64, 8),
            _conv_gn(c2, 128, 16),
            _conv_gn(c3, 256, 16),
            _conv_gn(c4, 256, 16, upsample=2),
            _conv_gn(c5, 256, 16, upsample=2),
        ])
        self.displacement_fuse = _conv_gn(768, 256, 16, upsample=2)
        self.displacement_head = nn.Sequential(
            _conv_gn(448, 256, 16), nn.Conv2d(256, 2, 1, bias=False))
        self.register_buffer('displacement_mean', torch.zeros(2))

    def train(self, mode: bool = True) -> 'IRNet':
        """Set the training mode; the backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    @torch.no_grad()
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """The five backbone taps (stem, stage 1..4), without gradient."""
        stem = []
        handle = self.backbone.get_submodule(
            self.stem_module).register_forward_hook(
                lambda module, args, output: stem.append(output))
        try:
            stages = self.backbone(inputs)
        finally:
            handle.remove()
        if len(stages) != 4:
            raise ValueError('The backbone must return its 4 stage maps '
                             f'(out_indices=(0, 1, 2, 3)), got {len(stages)}')
        return (stem[0], *stages)

    def _forward(self,
                 inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Boundary logits (B, 1, h, w) and raw displacements (B, 2, h, w)."""
        feats = self.extract_feat(inputs)
        edges = [tap(x) for tap, x in zip(self.edge_taps, feats)]
        size = edges[1].shape[-2:]
        edge_logit = self.edge_fuse(
            torch.cat([_crop(e, size) for e in edges], dim=1))

        d1, d2, d3, d4, d5 = (tap(x)
                              for tap, x in zip(self.displacement_taps, feats))
        size3 = d3.shape[-2:]
        d6 = self.displacement_fuse(
            torch.cat(
                [d3, _crop(d4, size3), _crop(d5, size3)], dim=1))
        displacement = self.displacement_head(
            torch.cat(
                [_crop(d1, size), d2, _crop(d6, size)], dim=1))
        return edge_logit, displacement

    def forward(
        self,
        inputs: torch.Tensor,
        data_samples: Optional[list] = None,
        mode: str = 'tensor'
    ) -> Union[Dict[str, torch.Tensor], list, Tuple[torch.Tensor, ...]]:
        """Run in ``'tensor'``, ``'loss'`` or ``'predict'`` mode.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list, optional): Data samples (``gt_sem_seg`` for
                ``'loss'``, ``img_shape`` for ``'predict'``).
            mode (str): Defaults to ``'tensor'``, which returns the boundary
                logits and the displacements (mean-shifted in eval mode).

        Returns:
            dict | list | tuple: Losses, data samples or tensors.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            edge_logit, displacement = self._forward(inputs)
            if not self.training:
                displacement = displacement - self.displacement_mean.view(
                    1, 2, 1, 1)
            return edge_logit, displacement
        raise ValueError(f'Invalid mode {mode!r}')

    def loss(self, inputs: torch.Tensor,
             data_samples: list) -> Dict[str, torch.Tensor]:
        """Affinity and displacement losses against the IR labels.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised crops.
            data_samples (list): Samples with ``gt_sem_seg`` of the stride-4
                grid size.

        Returns:
            dict[str, torch.Tensor]: ``loss_aff``, ``loss_dp`` and the logged
            terms ``pos_aff``, ``neg_aff``, ``dp_fg``, ``dp_bg``.
        """
        edge_logit, displacement = self._forward(inputs)
        labels = torch.stack([
            sample.gt_sem_seg.data[0] for sample in data_samples
        ]).to(edge_logit.device)
        if labels.shape[-2:] != edge_logit.shape[-2:]:
            raise ValueError(
                f'IR labels of size {tuple(labels.shape[-2:])} do not match '
                f'the stride-4 output {tuple(edge_logit.shape[-2:])}; reduce '
                'them with mmwsss.DownsampleLabel(scale=0.25)')
        path_index = get_path_index(self.radius, tuple(labels.shape[-2:]))
        bg_pos, fg_pos, neg = pair_labels(labels, path_index,
                                          self.ignore_index)
        losses = irn_losses(edge_logit, displacement, bg_pos, fg_pos, neg,
                            path_index)
        return dict(
            loss_aff=(losses['loss_pos_aff'] + losses['loss_neg_aff']) / 2,
            loss_dp=(losses['loss_dp_fg'] + losses['loss_dp_bg']) / 2,
            pos_aff=losses['loss_pos_aff'].detach(),
            neg_aff=losses['loss_neg_aff'].detach(),
            dp_fg=losses['loss_dp_fg'].detach(),
            dp_bg=losses['loss_dp_bg'].detach())

    @torch.no_grad()
    def edge_and_displacement(
            self, img: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Boundary probabilities and displacements of one image.

        Args:
            img (torch.Tensor): (3, H, W) normalised image.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: ``edge`` (h, w) in [0, 1] and
            ``displacement`` (2, h, w), with ``h = (H - 1) // 4 + 1`` and
            ``w = (W - 1) // 4 + 1``.
        """
        height, width = img.shape[-2:]
        pad_h, pad_w = (
            max(self.test_pad_size,
                math.ceil(side / 16) * 16) for side in (height, width))
        pair = F.pad(
            torch.stack([img, img.flip(-1)]),
            (0, pad_w - width, 0, pad_h - height))
        edge_logit, displacement = self.forward(pair, mode='tensor')
        size = ((height - 1) // 4 + 1, (width - 1) // 4 + 1)
        edge_logit = _crop(edge_logit[:, 0], size)
        edge = torch.sigmoid((edge_logit[0] + edge_logit[1].flip(-1)) / 2)
        return edge, _crop(displacement[0], size)

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Boundary and displacement maps (``irn_edge``,
        ``irn_displacement``) of each image (see the class docstring)."""
        for img, sample in zip(inputs, data_samples):
            height, width = sample.img_shape
            edge, displacement = self.edge_and_displacement(
                img[:, :height, :width])
            sample.irn_edge = edge
            sample.irn_displacement = displacement
        return data_samples

    @torch.no_grad()
    def estimate_mean_shift(self, dataloader) -> torch.Tensor:
        """Estimate and store ``displacement_mean`` (reference ``train_irn``).

        The mean over batches of each batch's mean raw displacement, in eval
        mode; under distributed training the batches of all ranks count.

        Args:
            dataloader (Iterable): Batches as produced for training (the
                reference: top-left 512 crops of the training list, batch 32,
                ``drop_last``).

        Returns:
            torch.Tensor: The new (2,) ``displacement_mean``.
        """
        was_training = self.training
        self.eval()
        total = self.displacement_mean.new_zeros(3)
        for data in dataloader:
            inputs = self.data_preprocessor(data, False)['inputs']
            _, displacement = self._forward(inputs)
            total[:2] += displacement.mean(dim=(0, 2, 3))
            total[2] += 1
        self.train(was_training)
        all_reduce(total)
        if total[2] == 0:
            raise ValueError('The mean-shift dataloader yielded no batch '
                             '(check its batch size and drop_last)')
        self.displacement_mean.copy_(total[:2] / total[2])
        return self.displacement_mean.clone()


class CAMWalkIRNet(IRNet):
    """IRNet whose prediction propagates the CAMs of each image by random
    walk: the settings its walking subclasses share.

    Args:
        cam_dir (str, optional): Deprecated: set it on
            :class:`mmwsss.LoadCAMFile`. When given, the model reads
            ``<cam_dir>/<id>.npz`` itself (whatever the pipeline loaded), as
            it used to. Defaults to None.
        beta (float): Affinity exponent. Defaults to 10.
        exp_times (int): Log2 of the number of walk steps. Defaults to 8.
        walk_radius (int): Neighbourhood radius of the walk. Defaults to 5.
        bg_threshold (float): Background score. Defaults to 0.25.
        cam_power (float): Exponent applied to the CAMs before the walk
            (1 = the reference; some follow-ups sharpen the CAMs).
            Defaults to 1.
        walk_dtype (str): dtype of the random walk, ``'float64'`` or
            ``'float32'`` (see :func:`mmwsss.functional.random_walk` for
            the accuracy of float32). Defaults to ``'float64'``.
        **kwargs: Arguments of :class:`IRNet`.
    """

    def __init__(self,
                 cam_dir: Optional[str] = None,
                 beta: float = 10,
                 exp_times: int = 8,
                 walk_radius: int = 5,
                 bg_threshold: float = 0.25,
                 cam_power: float = 1.0,
                 walk_dtype: str = 'float64',
                 **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        check_positive(owner, beta=beta, cam_power=cam_power)
        check_int_at_least(owner, 0, exp_times=exp_times)
        check_int_at_least(owner, 1, walk_radius=walk_radius)
        check_fraction(owner, bg_threshold=bg_threshold)
        if cam_dir is not None:
            warn_cam_dir_deprecated(type(self).__name__, _WALK_CAM_ARRAYS)
        self.cam_dir = cam_dir
        self.beta = beta
        self.exp_times = exp_times
        self.walk_radius = walk_radius
        self.bg_threshold = bg_threshold
        self.cam_power = cam_power
        # Checked now, not at the first image.
        self.walk_dtype = resolve_walk_dtype(walk_dtype)


@MODELS.register_module()
class IRNetRandomWalk(CAMWalkIRNet):
    """IRNet that makes semantic pseudo-masks by random walk (IRN step 7).

    Training is that of :class:`IRNet` (so an IRNet checkpoint loads as is).
    Prediction computes the boundary map of each image (see :class:`IRNet`),
    takes the stride-4 CAMs ``strided`` and their classes ``keys`` from its
    data sample (``cam_strided``, ``cam_keys``: the CAM file of
    :class:`mmwsss.CAMWriter`, loaded in the data pipeline by
    ``dict(type='mmwsss.LoadCAMFile', cam_dir=..., arrays=('keys',
    'strided'))``), raises them to ``cam_power``, propagates them with
    :func:`mmwsss.functional.random_walk` (``beta``, ``exp_times``,
    ``walk_radius``) and labels each pixel by
    :func:`mmwsss.functional.rw_to_semantic_label` (x4 upsampling, global
    max normalisation, constant background score ``bg_threshold``). The
    result is ``pred_sem_seg`` (PixelData (1, H, W), 0 = background, ``k +
    1`` = class ``k``), to be written by :class:`mmwsss.PseudoMaskWriter` and
    scored by :class:`mmwsss.PseudoMaskMetric` next to ``gt_sem_seg``.

    Args:
        **kwargs: Arguments of :class:`CAMWalkIRNet` (the walk) and of
            :class:`IRNet`.
    """

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Boundary maps and semantic pseudo-masks of a batch."""
        data_samples = super().predict(inputs, data_samples)
        for sample in data_samples:
            strided, keys = _walk_cams(sample, self.cam_dir)
            rw = random_walk(
                strided.pow(self.cam_power),
                sample.irn_edge,
                beta=self.beta,
                exp_times=self.exp_times,
                radius=self.walk_radius,
                dtype=self.walk_dtype)
            label = rw_to_semantic_label(rw, keys,
                                         tuple(sample.ori_shape),
                                         self.bg_threshold)
            sample.pred_sem_seg = PixelData(data=torch.from_numpy(label)[None])
        return data_samples


@MODELS.register_module()
class IRNetInstanceWalk(CAMWalkIRNet):
    """IRNet that makes instance pseudo-masks (IRN ``make_ins_seg_labels``).

    Training is that of :class:`IRNet` (so an IRNet checkpoint loads as is).
    Prediction computes the boundary map and the mean-shifted displacement
    field of each image (see :class:`IRNet`), takes the stride-4 CAMs
    ``strided`` and their classes ``keys`` from its data sample
    (``cam_strided``, ``cam_keys``, loaded as for
    :class:`IRNetRandomWalk`), raises them to ``cam_power`` and calls
    :func:`mmwsss.functional.instance_labels`: pixels are grouped by the
    centroid their displacement leads to, every (class, instance) CAM is
    propagated by the random walk and each 4-connected component of the
    winning channel becomes a detection scored by its maximum walk score
    (0 below ``min_area_ratio`` of the image). The result is
    ``pred_instances`` (InstanceData) with ``masks`` (N, H, W) bool,
    ``scores`` (N,) float32 and ``labels`` (N,) int64 0-based classes, in
    the original image frame, to be written by
    :class:`mmwsss.InstancePseudoMaskWriter` and scored by
    :class:`mmwsss.InstancePseudoMaskMetric`.

    An image without CAM channels or whose CAMs are zero everywhere gets no
    detection (the reference divides 0 by 0 there).

    Args:
        min_area_ratio (float): Relative area under which a detection gets
            score 0. Defaults to 0.01.
        centroid_iterations (int): Steps of the centroid search. Defaults to
            300.
        centre_threshold (float): Displacement norm below which a pixel
            belongs to an instance centre. Defaults to 2.5.
        **kwargs: Arguments of :class:`CAMWalkIRNet` (the walk;
            ``bg_threshold`` is the reference's ``ins_seg_bg_thres``) and of
            :class:`IRNet`.
    """

    def __init__(self,
                 min_area_ratio: float = 0.01,
                 centroid_iterations: int = 300,
                 centre_threshold: float = 2.5,
                 **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        check_fraction(owner, min_area_ratio=min_area_ratio)
        check_int_at_least(owner, 0, centroid_iterations=centroid_iterations)
        check_positive(owner, centre_threshold=centre_threshold)
        self.min_area_ratio = min_area_ratio
        self.centroid_iterations = centroid_iterations
        self.centre_threshold = centre_threshold

    def _instances(self, sample) -> InstanceData:
        """The instance pseudo-masks of one predicted sample."""
        strided, keys = _walk_cams(sample, self.cam_dir)
        height, width = sample.ori_shape
        if strided.numel() == 0 or strided.max() <= 0:
            scores = np.zeros(0, np.float64)
            masks = np.zeros((0, height, width), bool)
            labels = np.zeros(0, np.int64)
        else:
            scores, masks, labels = instance_labels(
                strided.pow(self.cam_power),
                keys,
                sample.irn_edge,
                sample.irn_displacement, (height, width),
                beta=self.beta,
                exp_times=self.exp_times,
                radius=self.walk_radius,
                bg_threshold=self.bg_threshold,
                min_area_ratio=self.min_area_ratio,
                centroid_iterations=self.centroid_iterations,
                centre_threshold=self.centre_threshold,
                walk_dtype=self.walk_dtype)
        return InstanceData(
            masks=torch.from_numpy(masks),
            scores=torch.from_numpy(scores.astype(np.float32)),
            labels=torch.from_numpy(labels))

    def predict(self, inputs: torch.Tensor, data_samples: list) -> list:
        """Boundary, displacement and instance pseudo-masks of a batch."""
        data_samples = super().predict(inputs, data_samples)
        for sample in data_samples:
            sample.pred_instances = self._instances(sample)
        return data_samples
