# Copyright (c) mmwsss contributors. All rights reserved.
"""BBAM attributor: explain a trained two-stage detector's boxes with masks.

For every ground-truth box of an image, :class:`BBAM` finds the smallest mask
of the image that keeps the detector's class probability and box deltas on
jittered copies of the box (Lee et al., CVPR 2021; dissertation Ch. 5). It
follows the official training-image code (``BBAM_training_images_multi.py``)
step for step, with the speed-ups that keep its numerics: the normalised image
is computed once, the RPN is never run, the detector's parameters are frozen
(no weight gradients), the FPN levels that no positive proposal reads are
not computed, and the objects of an image are optimised together as a
batch of independent masks. The optimisation loop never waits for a GPU:
what it needs on the host (the positives, the RoIs' feature levels) is read
before it, and the maps are read once per image, after it.
"""
import copy
import os.path as osp
import zlib
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.ops import RoIAlign
from mmdet.models.necks import FPN
from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmengine.config import ConfigDict
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader
from mmengine.structures import InstanceData, PixelData
from torch import Tensor

from mmwsss.fileio import image_stem, mcg_path, read_mcg_proposals
from mmwsss.registry import MODELS
from mmwsss.utils import to_numpy
from mmwsss.utils.checkpoint import load_state_dict_checked
from ..utils.checks import check_fraction
from .mask import bbam_loss, bbam_stride, init_bbam_mask, perturb_with_mask
from .mcg import MCG_COUNTS
from .proposals import (jitter_boxes, sample_jitter_draws,
                        select_positive_proposals)
from .pseudo_labels import bbam_pseudo_masks

# Settings of the pseudo-masks and their defaults (the reference's).
_PSEUDO_MASK_DEFAULTS = dict(fg_rank_fraction=0.85, ignore_rank_fraction=0.2)
# Settings of the optional MCG refinement: mcg_dir (None: none) and the
# count and mcg_semantic of bbam_pseudo_masks, which need mcg_dir.
_MCG_KEYS = ('mcg_dir', 'mcg_count', 'mcg_semantic')


class _ObjectTask(NamedTuple):
    """What the mask optimisation of one object needs (network frame)."""

    index: int
    label: int
    proposals: Tensor  # (P, 4) positive proposals
    deltas: Tensor  # (P, 4) class deltas on the clean image
    probs: Tensor  # (P,) class probabilities on the clean image
    init_mask: Tensor  # (1, h, w)


def _box_tensor(instances: InstanceData) -> Tensor:
    # gt boxes are mmdet BaseBoxes after LoadAnnotations(box_type='hbox').
    boxes = instances.bboxes
    return getattr(boxes, 'tensor', boxes).reshape(-1, 4)


@MODELS.register_module()
class BBAM(BaseModel):
    """Bounding box attribution maps of a two-stage detector.

    ``detector`` is the config of an mmdet two-stage detector with a
    ``StandardRoIHead`` (Faster R-CNN, Mask R-CNN), built as is under the
    mmdet scope. Its weights come from ``detector_checkpoint`` or, through
    ``tools/test.py``, from the checkpoint argument: a plain detector
    checkpoint loads into :attr:`detector`. The detector is kept in eval
    mode with every parameter frozen.

    Prediction (``tools/test.py``; the test loop's ``no_grad`` is lifted
    inside) explains every ground-truth box of each image, in the network
    input frame (the resized, unpadded image):

    1. ``num_proposals`` proposals jitter each coordinate by
       ``U(-jitter_ratio, jitter_ratio)`` times the box width / height
       (:func:`sample_jitter_draws`, :func:`jitter_boxes`);
    2. one forward of the RoI head on the clean features with these fixed
       proposals (no RPN) gives logits, softmax probabilities and deltas;
    3. :func:`select_positive_proposals` keeps the proposals classified as
       the box's class whose decoded box overlaps it (cascade
       ``iou_cascade``, at most ``max_positives``);
    4. the mask, on a grid of stride :func:`bbam_stride` initialised by
       :func:`init_bbam_mask`, is optimised with Adam (``lr``) for
       ``num_iters`` iterations of :func:`bbam_loss` on the image perturbed
       by :func:`perturb_with_mask`, fed to backbone and RoI head with the
       positives as proposals, and clamped to [0, 1] after each step.

    The objects of an image are optimised in batches of up to
    ``max_objects_per_batch`` perturbed copies of the image, one mask per
    copy. In eval mode the detector treats every copy independently and
    Adam is element-wise, so each mask follows the same steps as when
    optimised alone (up to float rounding of batched convolutions).

    Special cases, each giving an all-zero map with ``num_positives`` 0
    (the pseudo-mask stage then falls back to filling the box, as the
    reference does):

    - a box narrower or lower than ``min_box_size`` pixels in the network
      frame is not explained at all (``iou_threshold`` NaN);
    - a box without positive proposals, e.g. a tiny box whose jittered
      copies never reach the IoU cascade, or a class the detector misses.

    Boxes touching the image border need nothing special: proposals are
    clipped to the image and the mask grid covers the whole image.

    The prediction of each image is ``pred_instances`` with, per object, in
    the order of ``gt_instances`` followed (``explain_ignored``) by
    ``ignored_instances`` (VOC's difficult objects, which the reference
    explains too):

    - ``bboxes`` (K, 4) and ``labels`` (K,): the explained boxes in the
      original image frame and their classes;
    - ``bbams``: list of K float32 maps (h_k, w_k) in [0, 1], the masks on
      their own grids, covering the whole image;
    - ``num_positives`` (K,), ``iou_thresholds`` (K,) and ``strides`` (K,):
      the positive count, the cascade threshold that produced it and the
      mask stride in network pixels;
    - ``from_ignored`` (K,): whether the object came from
      ``ignored_instances``.

    With ``pseudo_mask_cfg``, the maps are also turned into pseudo-labels
    (:func:`mmwsss.models.bbam.bbam_pseudo_masks`: dense CRF on the original
    image, rank fractions ``fg_rank_fraction`` 0.85 and
    ``ignore_rank_fraction`` 0.2, a filled box for a mask that comes out
    empty), in the original image frame:

    - ``pred_instances.masks`` and ``ignore_masks``: bool (K, H, W);
      ``bbam_missing`` and ``box_filled``: bool (K,);
    - ``pred_sem_seg.sem_seg``: uint8 (1, H, W), 0 background, ``k + 1``
      class ``k``, 255 ignore.

    With ``pseudo_mask_cfg=dict(mcg_dir=...)`` the instance masks are then
    refined with the image's precomputed MCG proposals,
    ``<mcg_dir>/<image file stem>.mat`` (:func:`mmwsss.fileio.
    read_mcg_proposals`; :func:`mmwsss.models.bbam.mcg_refine_mask`, the
    reference's ``BBAM_plus_mcg.py``, the paper's best instance results),
    and ``pred_instances.mcg_refined`` (K,) says which objects were (boxes
    under 32 x 32 pixels are not). ``mcg_count`` ('pixels' or the
    reference's coordinate-weighted 'reference') is the ``count`` of
    ``mcg_refine_mask``; ``mcg_semantic=True`` merges ``pred_sem_seg`` from
    the refined masks (default: from the masks before, as the reference).

    The CRF needs the original image, which the pipeline keeps as the
    ``ori_img`` meta key: :class:`mmwsss.KeepOriginalImage` after
    ``LoadImageFromFile`` and ``'ori_img'`` in ``PackDetInputs``'
    ``meta_keys``. :class:`mmwsss.BBAMPseudoMaskWriter` writes them.

    The ground truth must be in the original image frame, i.e. loaded after
    ``Resize`` as in mmdet's test pipelines; boxes are scaled by the
    sample's ``scale_factor``.

    Args:
        detector (dict): Config of the mmdet two-stage detector.
        detector_checkpoint (str, optional): Detector weights to load at
            construction; they must fit the detector (a checkpoint of
            other classes or another model is an error naming it). Defaults
            to None.
        detector_checkpoint_strict (bool): Whether ``detector_checkpoint``
            must fit exactly; False loads what fits (at least one weight),
            as ``load_from_strict = False`` does. Defaults to True.
        num_proposals (int): Jittered proposals per box. Defaults to 1000.
        jitter_ratio (float): Maximum jitter as a fraction of the box width
            or height. Defaults to 0.3.
        iou_cascade (Sequence[float]): IoU thresholds of the positives.
            Defaults to (0.9, 0.85, 0.8).
        max_positives (int): Cap on the positives. Defaults to 100.
        num_iters (int): Adam iterations. Defaults to 300.
        lr (float): Adam learning rate. Defaults to 0.02.
        l1_coeff (float): Weight of the mask's L1 sum. Defaults to 0.007.
        tv_coeff (float): Weight of the TV term. Defaults to 1e-4.
        tv_beta (float): TV exponent. Defaults to 3.0.
        box_weight (float): Weight of the box-head term. Defaults to 0.5.
        cls_weight (float): Weight of the cls-head term. Defaults to 0.5.
        max_objects_per_batch (int, optional): Most masks optimised at once
            (memory grows linearly with it); None optimises all objects of
            an image together. Defaults to 8.
        min_box_size (float): Smallest explained box side, network pixels.
            Defaults to 1.0.
        explain_ignored (bool): Also explain ``ignored_instances``.
            Defaults to True.
        seed (int, optional): Seed of the jitter. Each image gets its own
            generator from the seed and its file name, so results do not
            depend on the order, the number of processes or a resume.
            None draws fresh randomness. Defaults to 0.
        torchvision_roi_align (bool): Run the RoI head's mmcv ``RoIAlign``
            layers (average pooling) through torchvision's kernel, which
            gives the same values and gradients and is about twice as fast
            on CPU, where RoIAlign's backward is most of the RoI head's cost
            in the mask optimisation. Defaults to True.
        mask_stride (float, optional): A fixed mask stride in network
            pixels for every box, instead of the adaptive
            :func:`bbam_stride` (the ablation of dissertation Fig. 5.7b).
            Defaults to None (adaptive).
        pseudo_mask_cfg (dict, optional): Also predict pseudo-masks, with
            these settings: ``fg_rank_fraction`` (0.85),
            ``ignore_rank_fraction`` (0.2), ``mcg_dir`` (None: no MCG
            refinement), ``mcg_count`` ('pixels') and ``mcg_semantic``
            (False); ``dict()`` takes the defaults. Defaults to None (maps
            only).
        num_workers (int): Forked processes that share each image's dense
            CRFs of the pseudo-masks (two per object; on a CPU they take
            most of an image's time when the optimisation is short); 0 or 1
            runs them in this process. ``tools/test.py`` caps it at the
            process's cores, as the label stages' CRF workers. Defaults
            to 0.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 detector: dict,
                 detector_checkpoint: Optional[str] = None,
                 detector_checkpoint_strict: bool = True,
                 num_proposals: int = 1000,
                 jitter_ratio: float = 0.3,
                 iou_cascade: Sequence[float] = (0.9, 0.85, 0.8),
                 max_positives: int = 100,
                 num_iters: int = 300,
                 lr: float = 0.02,
                 l1_coeff: float = 0.007,
                 tv_coeff: float = 1e-4,
                 tv_beta: float = 3.0,
                 box_weight: float = 0.5,
                 cls_weight: float = 0.5,
                 max_objects_per_batch: Optional[int] = 8,
                 min_box_size: float = 1.0,
                 explain_ignored: bool = True,
                 seed: Optional[int] = 0,
                 torchvision_roi_align: bool = True,
                 mask_stride: Optional[float] = None,
                 pseudo_mask_cfg: Optional[dict] = None,
                 num_workers: int = 0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_proposals < 1:
            raise ValueError(
                f'num_proposals must be positive, got {num_proposals}.')
        if num_iters < 0:
            raise ValueError(
                f'num_iters must be non-negative, got {num_iters}.')
        if max_objects_per_batch is not None and max_objects_per_batch < 1:
            raise ValueError('max_objects_per_batch must be positive or None, '
                             f'got {max_objects_per_batch}.')
        if mask_stride is not None and not mask_stride > 0:
            raise ValueError(
                f'mask_stride must be positive or None, got {mask_stride}.')
        if pseudo_mask_cfg is not None:
            known = sorted(_PSEUDO_MASK_DEFAULTS) + list(_MCG_KEYS)
            unknown = set(pseudo_mask_cfg) - set(known)
            if unknown:
                raise TypeError(f'Unknown pseudo_mask_cfg keys {unknown}; '
                                f'known: {known}.')
            pseudo_mask_cfg = dict(_PSEUDO_MASK_DEFAULTS, **pseudo_mask_cfg)
            # Checked here, not per image: half a job would be written
            # before the first error.
            check_fraction(
                type(self).__name__,
                fg_rank_fraction=pseudo_mask_cfg['fg_rank_fraction'],
                ignore_rank_fraction=pseudo_mask_cfg['ignore_rank_fraction'])
            if pseudo_mask_cfg.get('mcg_dir') is None:
                # without proposals these settings would be ignored
                given = [k for k in _MCG_KEYS[1:] if k in pseudo_mask_cfg]
                if given:
                    raise TypeError(f'pseudo_mask_cfg {given} need mcg_dir '
                                    '(the MCG proposal files).')
            elif pseudo_mask_cfg.get('mcg_count',
                                     MCG_COUNTS[0]) not in MCG_COUNTS:
                raise ValueError(
                    f'{type(self).__name__}: pseudo_mask_cfg mcg_count must '
                    f'be one of {MCG_COUNTS}, got '
                    f'{pseudo_mask_cfg["mcg_count"]!r}.')
        # mmdet reads nested configs by attribute (train_cfg.rpn).
        detector = ConfigDict(copy.deepcopy(detector))
        # Nested mmdet types must resolve in mmdet whatever the default scope.
        detector.setdefault('_scope_', 'mmdet')
        self.detector = MODELS.build(detector)
        if not isinstance(
                getattr(self.detector, 'roi_head', None), StandardRoIHead):
            raise TypeError(
                'BBAM needs a two-stage detector with a StandardRoIHead '
                f'(Faster or Mask R-CNN); got {type(self.detector).__name__}.')
        self.data_preprocessor = self.detector.data_preprocessor
        if detector_checkpoint is not None:
            # Not mmengine's load_checkpoint: it loads with strict=False
            # and only logs keys that do not fit (random weights, exit 0).
            load_state_dict_checked(
                self.detector,
                CheckpointLoader.load_checkpoint(
                    detector_checkpoint, map_location='cpu'),
                detector_checkpoint,
                strict=detector_checkpoint_strict,
                revise_keys=((r'^module\.', ''), (r'^detector\.', '')),
                partial_setting='detector_checkpoint_strict=False')
        self.detector.requires_grad_(False)
        self.detector.eval()
        if torchvision_roi_align:
            for layer in self.detector.roi_head.bbox_roi_extractor.roi_layers:
                if isinstance(layer, RoIAlign) and layer.pool_mode == 'avg':
                    layer.use_torchvision = True

        self.num_proposals = num_proposals
        self.jitter_ratio = jitter_ratio
        self.iou_cascade = tuple(iou_cascade)
        self.max_positives = max_positives
        self.num_iters = num_iters
        self.lr = lr
        self.l1_coeff = l1_coeff
        self.tv_coeff = tv_coeff
        self.tv_beta = tv_beta
        self.box_weight = box_weight
        self.cls_weight = cls_weight
        self.max_objects_per_batch = max_objects_per_batch
        self.min_box_size = min_box_size
        self.explain_ignored = explain_ignored
        self.seed = seed
        self.mask_stride = mask_stride
        self.pseudo_mask_cfg = pseudo_mask_cfg
        self.num_workers = num_workers

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # A plain detector checkpoint (keys "backbone.", "roi_head.", ...)
        # loads into self.detector; a BBAM checkpoint loads as is.
        own = [k for k in state_dict if k.startswith(prefix)]
        if own and not any(k.startswith(prefix + 'detector.') for k in own):
            for key in own:
                state_dict[prefix + 'detector.' +
                           key[len(prefix):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def train(self, mode: bool = True) -> 'BBAM':
        """Set the mode; the detector always stays in eval mode."""
        super().train(mode)
        self.detector.eval()
        return self

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'predict'):
        """Only ``mode='predict'`` exists: BBAM is not trained."""
        if mode != 'predict':
            raise RuntimeError(
                f'BBAM only predicts (mode="predict"), got mode="{mode}"; '
                'train the detector with its own config.')
        return self.predict(inputs, data_samples)

    def predict(self, inputs: Tensor, data_samples: list) -> list:
        """Explain the ground-truth boxes of a batch (see the class doc).

        Args:
            inputs (Tensor): (N, C, H, W) normalised, padded images from the
                detector's data preprocessor.
            data_samples (list[DetDataSample]): Their samples with
                ``gt_instances`` (and ``ignored_instances``) in the original
                image frame.

        Returns:
            list[DetDataSample]: The samples with ``pred_instances`` (and,
            with ``pseudo_mask_cfg``, ``pred_sem_seg``).
        """
        self.detector.eval()
        with torch.enable_grad():
            for image, sample in zip(inputs, data_samples):
                sample.pred_instances = self._predict_sample(image, sample)
        if self.pseudo_mask_cfg is not None:
            for sample in data_samples:
                self._add_pseudo_masks(sample)
        return data_samples

    def _add_pseudo_masks(self, sample) -> None:
        """Pseudo-masks of a predicted sample, on the host (CRF)."""
        image = sample.get('ori_img')
        if image is None:
            raise KeyError(
                f'{sample.get("img_path")}: BBAM(pseudo_mask_cfg=...) makes '
                'the pseudo-masks on the original image, which the data '
                'sample lacks: add dict(type="mmwsss.KeepOriginalImage") '
                'after LoadImageFromFile and "ori_img" to the meta_keys of '
                'PackDetInputs.')
        pred = sample.pred_instances
        cfg = dict(self.pseudo_mask_cfg)
        mcg_dir = cfg.pop('mcg_dir', None)
        if mcg_dir is not None:
            proposals = read_mcg_proposals(
                mcg_path(mcg_dir, image_stem(sample)), image.shape[:2])
            cfg['mcg'] = (proposals.superpixels, proposals.membership)
        # Maps, boxes and labels are already on the host.
        pseudo = bbam_pseudo_masks(pred.bbams, pred.num_positives, pred.bboxes,
                                   pred.labels, image,
                                   num_workers=self.num_workers, **cfg)
        for key in ('masks', 'ignore_masks', 'bbam_missing', 'box_filled',
                    'mcg_refined'):
            if key in pseudo:
                setattr(pred, key, torch.from_numpy(pseudo[key]))
        sample.pred_sem_seg = PixelData(
            sem_seg=torch.from_numpy(pseudo['sem_seg'])[None])

    def _predict_sample(self, image: Tensor, sample) -> InstanceData:
        groups = [sample.gt_instances]
        if self.explain_ignored and 'ignored_instances' in sample:
            groups.append(sample.ignored_instances)
        boxes, labels, from_ignored = [], [], []
        for flag, instances in enumerate(groups):
            if 'bboxes' not in instances:
                continue
            boxes.append(_box_tensor(instances).float())
            labels.append(instances.labels.long())
            from_ignored.append(
                torch.full((len(instances), ), bool(flag), dtype=torch.bool))
        boxes = torch.cat(boxes) if boxes else image.new_zeros((0, 4))
        labels = torch.cat(labels) if labels else torch.zeros(
            0, dtype=torch.long)

        scale_w, scale_h = sample.get('scale_factor', (1.0, 1.0))
        scale = boxes.new_tensor([scale_w, scale_h, scale_w, scale_h])
        height, width = sample.img_shape[:2]
        result = self.explain(
            image[:, :height, :width],
            boxes.to(image.device) * scale.to(image.device),
            labels,
            padded_shape=tuple(image.shape[-2:]),
            generator=self._generator(sample))
        result.bboxes = boxes.cpu()
        result.from_ignored = (
            torch.cat(from_ignored) if from_ignored else torch.zeros(
                0, dtype=torch.bool))
        return result

    def _generator(self, sample) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng()
        img_path = sample.get('img_path')
        name = (
            osp.splitext(osp.basename(img_path))[0] if img_path else str(
                sample.get('img_id')))
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def explain(
            self,
            image: Tensor,
            boxes: Tensor,
            labels: Tensor,
            padded_shape: Optional[Tuple[int, int]] = None,
            generator: Optional[np.random.Generator] = None) -> InstanceData:
        """BBAMs of the boxes of one image, in the network frame.

        Args:
            image (Tensor): (C, H, W) normalised image, unpadded.
            boxes (Tensor): (K, 4) boxes ``[x0, y0, x1, y1]`` in the frame of
                ``image``.
            labels (Tensor): (K,) class indices of the detector.
            padded_shape (tuple[int, int], optional): Size the detector input
                is zero-padded to, as the data preprocessor pads the clean
                image. Defaults to None (no padding).
            generator (np.random.Generator, optional): Source of the jitter.
                Defaults to None (a fresh generator).

        Returns:
            InstanceData: ``labels``, ``bbams`` (list of (h_k, w_k) maps),
            ``num_positives``, ``iou_thresholds`` and ``strides`` of the K
            boxes.
        """
        height, width = image.shape[-2:]
        padded_shape = tuple(padded_shape or (height, width))
        if padded_shape[0] < height or padded_shape[1] < width:
            raise ValueError(f'padded_shape {padded_shape} is smaller than '
                             f'the image ({height}, {width}).')
        boxes = boxes.detach().float().reshape(-1, 4)
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.shape[0] != boxes.shape[0]:
            raise ValueError(f'{boxes.shape[0]} boxes but '
                             f'{labels.shape[0]} labels.')
        generator = generator or np.random.default_rng()
        clean = self._pad(image.detach()[None], padded_shape)
        host_boxes, host_labels = to_numpy(boxes), to_numpy(labels)

        num = boxes.shape[0]
        strides = np.zeros(num)
        thresholds = np.full(num, np.nan)
        num_positives = np.zeros(num, dtype=np.int64)
        maps: List[Tensor] = []
        tasks: List[_ObjectTask] = []
        feats = None
        for k in range(num):
            box = host_boxes[k]
            box_w, box_h = box[2] - box[0], box[3] - box[1]
            # An inverted box has no area (and gets no positives).
            strides[k] = self.mask_stride or bbam_stride(
                [box[0], box[1],
                 max(box[0], box[2]),
                 max(box[1], box[3])], (height, width))
            grid = (max(int(height / strides[k]),
                        1), max(int(width / strides[k]), 1))
            maps.append(torch.zeros(grid))
            if min(box_w, box_h) < self.min_box_size:
                continue
            if feats is None:
                with torch.no_grad():
                    feats = self.detector.extract_feat(clean)
            task, thresholds[k] = self._positives(feats, k, box,
                                                  int(host_labels[k]),
                                                  (height, width), strides[k],
                                                  generator)
            if task is not None:
                num_positives[k] = task.proposals.shape[0]
                tasks.append(task)

        chunk = self.max_objects_per_batch or max(len(tasks), 1)
        optimised = []
        for start in range(0, len(tasks), chunk):
            optimised += self._optimise(clean, tasks[start:start + chunk],
                                        (height, width))
        for task, bbam in zip(tasks, self._maps_to_host(optimised)):
            maps[task.index] = bbam
        return InstanceData(
            labels=torch.from_numpy(host_labels),
            bbams=maps,
            num_positives=torch.from_numpy(num_positives),
            iou_thresholds=torch.from_numpy(thresholds).float(),
            strides=torch.from_numpy(strides).float())

    @staticmethod
    def _maps_to_host(maps: List[Tensor]) -> List[Tensor]:
        """float32 CPU copies of (device) maps, in one transfer."""
        if not maps:
            return []
        flat = torch.cat([bbam.reshape(-1) for bbam in maps]).float().cpu()
        parts = flat.split([bbam.numel() for bbam in maps])
        # A storage of its own each, so that pickling one map (results
        # gathered between ranks) does not carry all the others.
        return [
            part.view(bbam.shape).clone() for part, bbam in zip(parts, maps)
        ]

    @staticmethod
    def _pad(images: Tensor, padded_shape: Tuple[int, int]) -> Tensor:
        # Zero in normalised space is the mean colour, as the preprocessor's
        # padding.
        return F.pad(images, (0, padded_shape[1] - images.shape[-1], 0,
                              padded_shape[0] - images.shape[-2]))

    def _roi_forward(
        self,
        feats: Tuple[Tensor],
        rois: Tensor,
        labels: Tensor,
        level_indices: Optional[List[Optional[Tensor]]] = None
    ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Logits, raw deltas, class probabilities and class deltas.

        With ``level_indices`` (:meth:`_level_indices` of ``rois``) the RoIs
        are pooled without the RoI extractor's own level assignment, which
        reads the levels on the host.
        """
        roi_head = self.detector.roi_head
        if level_indices is None:
            out = roi_head._bbox_forward(feats, rois)
            logits, raw = out['cls_score'], out['bbox_pred']
        else:
            roi_feats = self._pool_rois(feats, rois, level_indices)
            if roi_head.with_shared_head:
                roi_feats = roi_head.shared_head(roi_feats)
            logits, raw = roi_head.bbox_head(roi_feats)
        index = torch.arange(rois.shape[0], device=rois.device)
        probs = logits.softmax(dim=1)[index, labels]
        deltas = raw.view(rois.shape[0], -1, 4)
        # Class-agnostic heads have one set of deltas.
        deltas = deltas[index, labels] if deltas.shape[1] > 1 else deltas[:, 0]
        return logits, raw, probs, deltas

    def _positives(
            self, feats: Tuple[Tensor], index: int, box: np.ndarray,
            label: int, image_hw: Tuple[int, int], stride: float,
            generator: np.random.Generator
    ) -> Tuple[Optional[_ObjectTask], float]:
        """Jitter a box, run the clean RoI head and select the positives."""
        bbox_head = self.detector.roi_head.bbox_head
        device, dtype = feats[0].device, feats[0].dtype
        draws = sample_jitter_draws(self.num_proposals, self.jitter_ratio,
                                    generator)
        # float32 proposals, as the reference, in the features' dtype.
        proposals = torch.from_numpy(jitter_boxes(box, image_hw, draws)).to(
            device=device, dtype=dtype)
        rois = torch.cat([proposals.new_zeros(len(proposals), 1), proposals],
                         dim=1)
        label_t = torch.full((len(proposals), ),
                             label,
                             dtype=torch.long,
                             device=device)
        with torch.no_grad():
            # one read of the RoI levels, not one per level
            logits, raw, probs, deltas = self._roi_forward(
                feats, rois, label_t, self._level_indices(rois))
            # Unclipped decoded boxes, as the reference's
            # after_regression_proposal.
            decoded = bbox_head.bbox_coder.decode(proposals, raw).view(
                len(proposals), -1, 4)
        num_logits = logits.shape[1]
        # What the positives need on the host, read once per object.
        host_logits = to_numpy(logits)
        if decoded.shape[1] == 1:
            class_boxes = decoded.expand(-1, num_logits, -1)
        else:
            # The background logit (last) has no box; it never is the label.
            class_boxes = torch.cat([
                decoded,
                decoded.new_zeros(
                    len(proposals), num_logits - decoded.shape[1], 4)
            ],
                                    dim=1)
        class_boxes = to_numpy(class_boxes)
        positives, threshold = select_positive_proposals(
            host_logits, class_boxes, box, label, self.iou_cascade,
            self.max_positives)
        if positives.size == 0:
            return None, threshold
        keep = torch.from_numpy(positives).to(device)
        init = init_bbam_mask(class_boxes[positives, label], image_hw,
                              stride)
        return _ObjectTask(index, label, proposals[keep],
                           deltas[keep], probs[keep],
                           init.to(device=device, dtype=dtype)), threshold

    def _level_indices(self,
                       rois: Tensor) -> Optional[List[Optional[Tensor]]]:
        """Per feature level, the indices of the ``rois`` that mmdet's
        ``SingleRoIExtractor`` pools from it (None for a level it pools
        none from); None for other RoI extractors.

        The extractor finds them (``nonzero``, a wait for the GPU) at every
        call; the RoIs of the mask optimisation are fixed, so they are
        found once, before it.
        """
        extractor = self.detector.roi_head.bbox_roi_extractor
        # exactly mmdet's class: a subclass may assign or pool otherwise
        if type(extractor) is not SingleRoIExtractor:
            return None
        num_levels = len(extractor.featmap_strides)
        levels = to_numpy(extractor.map_roi_levels(rois, num_levels))
        indices = [
            np.flatnonzero(levels == level) for level in range(num_levels)
        ]
        return [
            torch.from_numpy(index).to(rois.device) if index.size else None
            for index in indices
        ]

    def _pool_rois(self, feats: Tuple[Tensor], rois: Tensor,
                   level_indices: List[Optional[Tensor]]) -> Tensor:
        """``SingleRoIExtractor``'s RoI features, the level of each RoI
        given by ``level_indices`` (:meth:`_level_indices`)."""
        extractor = self.detector.roi_head.bbox_roi_extractor
        rois = rois.type_as(feats[0])
        pooled = feats[0].new_zeros(rois.shape[0], extractor.out_channels,
                                    *extractor.roi_layers[0].output_size)
        # A level that pools no RoI adds nothing; mmdet adds 0 * its sum.
        for level, index in enumerate(level_indices):
            if index is not None:
                pooled[index] = extractor.roi_layers[level](feats[level],
                                                            rois[index])
        return pooled

    def _unused_levels(self, rois: Tensor) -> List[int]:
        """Feature levels the RoI extractor reads for none of ``rois``.

        mmdet's ``SingleRoIExtractor`` adds ``0 * sum(level)`` for such a
        level, so computing it (forward and backward) only adds zeros.
        """
        extractor = self.detector.roi_head.bbox_roi_extractor
        if not isinstance(extractor, SingleRoIExtractor):
            return []
        num_levels = len(extractor.featmap_strides)
        used = set(extractor.map_roi_levels(rois, num_levels).tolist())
        return [level for level in range(num_levels) if level not in used]

    def _extract_feat(self, images: Tensor,
                      unused: List[int]) -> Tuple[Tensor, ...]:
        """The detector's features, without work for the ``unused`` levels.

        With mmdet's ``FPN`` the unused outputs are not computed (nor the
        laterals below the lowest used level) and stand as zero-size
        placeholders, which the RoI extractor only multiplies by 0; with
        other necks they are computed and detached.
        """
        neck = getattr(self.detector, 'neck', None)
        num_read = len(
            self.detector.roi_head.bbox_roi_extractor.featmap_strides)
        # the extractor must read only FPN outputs made from laterals
        if (not unused or type(neck) is not FPN
                or num_read > len(neck.lateral_convs)):
            return tuple(feat.detach() if level in unused else feat
                         for level, feat in enumerate(
                             self.detector.extract_feat(images)))
        inputs = self.detector.backbone(images)
        num_levels = len(neck.lateral_convs)
        used = [level for level in range(num_read) if level not in unused]
        laterals = {
            level: neck.lateral_convs[level](inputs[level + neck.start_level])
            for level in range(used[0], num_levels)
        }
        # FPN's top-down pathway, stopped at the lowest used level
        for level in range(num_levels - 1, used[0], -1):
            upsample = dict(neck.upsample_cfg)
            if 'scale_factor' not in upsample:
                upsample['size'] = laterals[level - 1].shape[2:]
            laterals[level - 1] = laterals[level - 1] + F.interpolate(
                laterals[level], **upsample)
        placeholder = images.new_zeros(0)
        return tuple(neck.fpn_convs[level](laterals[level]) if level in
                     used else placeholder for level in range(num_read))

    def _optimise(self, clean: Tensor, tasks: List[_ObjectTask],
                  image_hw: Tuple[int, int]) -> List[Tensor]:
        """Optimise the masks of ``tasks`` together; one image copy each."""
        if not tasks:
            return []
        height, width = image_hw
        image = clean[0, :, :height, :width]
        masks = [task.init_mask.clone().requires_grad_(True) for task in tasks]
        # Per proposal, made like its probability on the device.
        mask_index = torch.cat([
            torch.full_like(task.probs, i, dtype=torch.long)
            for i, task in enumerate(tasks)
        ])
        mask_counts = mask_index.new_tensor(
            [len(task.proposals) for task in tasks])
        proposals = torch.cat([task.proposals for task in tasks])
        rois = torch.cat([mask_index[:, None].to(proposals), proposals], dim=1)
        roi_labels = torch.cat([
            torch.full_like(task.probs, task.label, dtype=torch.long)
            for task in tasks
        ])
        ref_deltas = torch.cat([task.deltas for task in tasks])
        ref_probs = torch.cat([task.probs for task in tasks])
        unused = self._unused_levels(rois)
        level_indices = self._level_indices(rois)
        optimizer = torch.optim.Adam(masks, lr=self.lr)
        for _ in range(self.num_iters):
            perturbed = self._pad(
                perturb_with_mask(image, masks), tuple(clean.shape[-2:]))
            feats = self._extract_feat(perturbed, unused)
            _, _, probs, deltas = self._roi_forward(feats, rois, roi_labels,
                                                    level_indices)
            loss = bbam_loss(
                ref_deltas,
                deltas,
                ref_probs,
                probs,
                masks,
                self.l1_coeff,
                self.tv_coeff,
                self.tv_beta,
                mask_index=mask_index,
                mask_counts=mask_counts,
                box_weight=self.box_weight,
                cls_weight=self.cls_weight)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for mask in masks:
                    mask.clamp_(0, 1)
        return [mask.detach()[0] for mask in masks]
