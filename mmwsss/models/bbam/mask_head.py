# Copyright (c) mmwsss contributors. All rights reserved.
"""Mask R-CNN mask head trained on BBAM pseudo-masks with ignore regions."""
from typing import List, Tuple

import torch
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.structures.mask import mask_target
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmwsss.registry import MODELS
from .losses import seed_growing_mask_loss


@MODELS.register_module()
class SeedGrowingMaskHead(FCNMaskHead):
    """FCN mask head with BBAM's seed-growing loss and ignore regions.

    The loss of the official BBAM Mask R-CNN (reference
    ``roi_heads/mask_head/loss.py``): for each positive RoI, the foreground
    pseudo-mask (rank fraction 0.85, ``gt_instances.masks``) and the ignore
    pseudo-mask (rank fraction 0.2, ``gt_instances.ignore_masks``) are both
    projected onto the RoI as mmdet projects mask targets (``get_targets``,
    RoIAlign then binarisation); the projected foreground gives foreground
    seeds, the complement of the projected ignore mask background seeds,
    and :func:`mmwsss.models.bbam.seed_growing_mask_loss` grows them with the
    head's own predictions (``grow_threshold``), keeps pixels with an
    8-neighbour of the same set and takes a balanced BCE.

    Without ignore masks (a plain COCO json, e.g. real masks) the loss is
    the balanced BCE of the foreground masks, as in the reference. Ignore
    masks come from :class:`mmwsss.BoxPseudoCocoDataset` with
    :class:`mmwsss.LoadBoxPseudoAnnotations` and
    :class:`mmwsss.PackBoxPseudoInputs`; a batch where only some images
    have them raises ``ValueError``.

    Both masks are projected in one pass of mmdet's ``mask_target`` (the
    host transfers of one mmdet target computation) and the loss reads no
    value on the host, so a training step waits for the GPU no more often
    than with mmdet's ``FCNMaskHead``.

    Args:
        grow_threshold (float): Probability above which a pixel joins the
            foreground seeds (below ``1 - grow_threshold`` the background).
            Defaults to 0.9.
        loss_weight (float): Weight of the mask loss. Defaults to 1.0.
        seed_growing (bool): Grow the seeds with the head's predictions
            (the method). False trains on the initial seeds only, the
            ablation "without G" of dissertation Table 5.5. Defaults to True.
        **kwargs: Arguments of mmdet's ``FCNMaskHead``; its ``loss_mask`` is
            not used.
    """

    def __init__(self,
                 grow_threshold: float = 0.9,
                 loss_weight: float = 1.0,
                 seed_growing: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(seed_growing, bool):
            raise TypeError(
                f'seed_growing must be a bool, got {seed_growing!r}')
        self.seed_growing = seed_growing
        self.grow_threshold = grow_threshold
        self.loss_weight = loss_weight

    def loss_and_target(self, mask_preds: Tensor, sampling_results: list,
                        batch_gt_instances: List[InstanceData],
                        rcnn_train_cfg: ConfigDict) -> dict:
        """Seed-growing mask loss of the positive RoIs.

        Args:
            mask_preds (Tensor): (P, num_classes, M, M) mask logits.
            sampling_results (list[SamplingResult]): Sampling results of the
                images of the batch.
            batch_gt_instances (list[InstanceData]): Ground truth with
                ``masks`` and optionally ``ignore_masks``.
            rcnn_train_cfg (ConfigDict): ``train_cfg`` of the R-CNN stage.

        Returns:
            dict: ``loss_mask`` (dict with the loss) and ``mask_targets``
            (the projected foreground masks).
        """
        with_ignore = ['ignore_masks' in gt for gt in batch_gt_instances]
        targets_ignore = None
        if all(with_ignore):
            targets_fg, targets_ignore = self._fg_and_ignore_targets(
                sampling_results, batch_gt_instances, rcnn_train_cfg)
        elif any(with_ignore):
            raise ValueError(
                'Some images of the batch have ignore masks and others do '
                'not; mix pseudo-mask and plain datasets in separate runs.')
        else:
            targets_fg = self.get_targets(sampling_results,
                                          batch_gt_instances, rcnn_train_cfg)

        pos_labels = torch.cat([res.pos_gt_labels for res in sampling_results])
        if mask_preds.size(0) == 0:
            loss_mask = mask_preds.sum()
        else:
            index = torch.arange(mask_preds.size(0), device=mask_preds.device)
            logits = mask_preds[index,
                                0 if self.class_agnostic else pos_labels]
            loss_mask = self.loss_weight * seed_growing_mask_loss(
                logits,
                targets_fg,
                targets_ignore,
                self.grow_threshold,
                grow=self.seed_growing)
        return dict(
            loss_mask=dict(loss_mask=loss_mask), mask_targets=targets_fg)

    @staticmethod
    def _fg_and_ignore_targets(
            sampling_results: list, batch_gt_instances: List[InstanceData],
            rcnn_train_cfg: ConfigDict) -> Tuple[Tensor, Tensor]:
        """The foreground and ignore masks projected as by
        :meth:`get_targets`, in one ``mask_target`` call.

        Each image's ignore masks are appended to its foreground masks and
        its positive RoIs repeated with the indices shifted to them; RoIs
        are projected independently, so both halves equal separate calls.
        mmdet's data preprocessor pads the foreground masks to the batch
        shape (``pad_mask``) but not the ignore masks, which are padded here
        the same way (zeros at the bottom and right), so that both are
        projected with the same clipped RoIs.

        Returns:
            tuple[Tensor, Tensor]: (P, M, M) foreground and ignore targets.
        """
        priors, gt_inds, masks, sizes = [], [], [], []
        for res, gt in zip(sampling_results, batch_gt_instances):
            if type(gt.ignore_masks) is not type(gt.masks):
                raise ValueError(
                    'masks and ignore_masks must be of the same type, got '
                    f'{type(gt.masks).__name__} and '
                    f'{type(gt.ignore_masks).__name__}.')
            priors.append(torch.cat([res.pos_priors, res.pos_priors]))
            gt_inds.append(
                torch.cat([
                    res.pos_assigned_gt_inds,
                    res.pos_assigned_gt_inds + len(gt.masks)
                ]))
            ignore = gt.ignore_masks
            shape = (gt.masks.height, gt.masks.width)
            if (ignore.height, ignore.width) != shape:
                ignore = ignore.pad(shape, pad_val=0)
            masks.append(type(gt.masks).cat([gt.masks, ignore]))
            sizes += [len(res.pos_priors)] * 2
        parts = mask_target(priors, gt_inds, masks,
                            rcnn_train_cfg).split(sizes)
        return torch.cat(parts[0::2]), torch.cat(parts[1::2])
