# Copyright (c) mmwsss contributors. All rights reserved.
"""RIB: CAMs of a classifier fine-tuned per image (jbeomlee93/RIB)."""
import os.path as osp
import random
import zlib
from collections import OrderedDict
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmpretrain.structures import DataSample
from torch.utils.data import DataLoader, Dataset

from mmwsss.registry import DATASETS, MODELS
from ..classifiers.cam_classifier import CAMClassifier, ground_truth_cam_keys
from ..utils.cam import merge_multiscale_cams
from .functional import (RIB_LOSS_ACTIVATIONS, disjoint_image_indices,
                         gndrp_pool, rib_explosion_stop, rib_loss,
                         rib_poly_lr, rib_target_stop)


class _SeededItems(Dataset):
    """Loads ``(index, seed)`` items with the global random generators
    seeded, so an item's random augmentation does not depend on the process
    that loads it or on what was loaded before."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: Tuple[int, int]):
        index, seed = item
        py_state, np_state = random.getstate(), np.random.get_state()
        random.seed(seed)
        np.random.seed(seed)
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                return self.dataset[index]
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


class _BatchPlan:
    """Batch sampler yielding the batches of the current target image; a
    persistent loader re-reads it every time it is iterated."""

    def __init__(self):
        self.batches: List[List[Tuple[int, int]]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class DisjointImageBatches:
    """Batches of images whose classes are disjoint from a target image's.

    RIB fine-tunes on the target image together with ``batch_size`` images
    that share none of its classes, a fresh batch at every step. The image
    level labels of all candidates are read once into a (N, C) matrix; the
    disjoint index list of a class set is computed with one vectorised test
    (:func:`mmwsss.functional.disjoint_image_indices`) and kept in a
    least-recently-used cache of ``cache_size`` class sets: COCO's 82k
    training images hold tens of thousands of distinct class sets, each
    list up to N indices, so an unbounded cache grows to gigabytes.

    The batches of a target are drawn from a generator seeded by ``seed``
    and the target's id: a random permutation of its disjoint images
    (followed by further permutations when fewer than ``num_batches *
    batch_size`` exist; with fewer than ``batch_size`` images every batch
    holds all of them). Each item is loaded with the global random
    generators seeded by its own drawn seed, so the augmented batches depend
    only on the target, not on the order of the targets, the number of
    processes or ``num_workers``.

    Args:
        dataset (dict | Dataset): The candidate images with their training
            pipeline (RIB: the classifier's training set and augmentation),
            as a config (built on first use) or a dataset. Its items are
            dicts with ``inputs`` and ``data_samples`` (``gt_label``), and
            ``get_cat_ids(i)`` (or ``get_data_info(i)['gt_label']``) gives
            the labels of item ``i``.
        num_classes (int): Number of classes.
        batch_size (int): Images per batch (B). Defaults to 20.
        num_workers (int): Worker processes of the (persistent) loader; 0
            loads in the calling process. Defaults to 0.
        seed (int): Base seed of the draws. Defaults to 0.
        cache_size (int): Class sets whose disjoint index lists are kept
            (least recently used dropped first); 0 keeps none. Defaults to
            256.
    """

    def __init__(self,
                 dataset: Union[dict, Dataset],
                 num_classes: int,
                 batch_size: int = 20,
                 num_workers: int = 0,
                 seed: int = 0,
                 cache_size: int = 256):
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if cache_size < 0:
            raise ValueError(f'cache_size must be >= 0, got {cache_size}')
        self._dataset = dataset
        self.num_classes = num_classes
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.cache_size = cache_size
        self._label_matrix: Optional[np.ndarray] = None
        self._disjoint: 'OrderedDict[Tuple[int, ...], np.ndarray]' = (
            OrderedDict())
        self._plan = _BatchPlan()
        self._loader: Optional[DataLoader] = None

    @property
    def dataset(self) -> Dataset:
        """The candidate dataset (built from its config on first use)."""
        if isinstance(self._dataset, dict):
            self._dataset = DATASETS.build(self._dataset)
        return self._dataset

    @property
    def label_matrix(self) -> np.ndarray:
        """(N, num_classes) boolean image-level labels of the candidates."""
        if self._label_matrix is None:
            dataset = self.dataset
            matrix = np.zeros((len(dataset), self.num_classes), dtype=bool)
            for i in range(len(dataset)):
                if hasattr(dataset, 'get_cat_ids'):
                    labels = dataset.get_cat_ids(i)
                else:
                    labels = dataset.get_data_info(i)['gt_label']
                labels = np.asarray(labels, dtype=np.int64).reshape(-1)
                if labels.size and (labels.min() < 0
                                    or labels.max() >= self.num_classes):
                    raise ValueError(
                        f'Image {i} of the RIB dataset has labels '
                        f'{labels.tolist()} outside 0..{self.num_classes - 1}')
                matrix[i, labels] = True
            self._label_matrix = matrix
        return self._label_matrix

    def disjoint_indices(self, keys: Sequence[int]) -> np.ndarray:
        """Indices of the candidates sharing no class with ``keys``."""
        key = tuple(sorted({int(k) for k in keys}))
        if key in self._disjoint:
            self._disjoint.move_to_end(key)
            return self._disjoint[key]
        indices = disjoint_image_indices(self.label_matrix, list(key))
        if self.cache_size > 0:
            self._disjoint[key] = indices
            if len(self._disjoint) > self.cache_size:
                self._disjoint.popitem(last=False)
        return indices

    def plan(self, keys: Sequence[int], num_batches: int,
             image_key: str) -> List[List[Tuple[int, int]]]:
        """The ``(index, seed)`` batches of one target image.

        Args:
            keys (Sequence[int]): The target's classes.
            num_batches (int): Number of batches (RIB iterations).
            image_key (str): The target's id (seeds the draw).

        Returns:
            list[list[tuple[int, int]]]: ``num_batches`` batches, or none
            when no candidate is disjoint from ``keys``.
        """
        pool = self.disjoint_indices(keys)
        if pool.size == 0 or num_batches < 1:
            return []
        rng = np.random.default_rng(
            [self.seed, zlib.crc32(image_key.encode())])
        size = min(self.batch_size, pool.size)
        total = num_batches * size
        repeats = -(-total // pool.size)
        order = np.concatenate([rng.permutation(pool)
                                for _ in range(repeats)])[:total]
        seeds = rng.integers(0, 2**31 - 1, size=total)
        items = [(int(i), int(s)) for i, s in zip(order, seeds)]
        return [items[i:i + size] for i in range(0, total, size)]

    def batches(self, keys: Sequence[int], num_batches: int,
                image_key: str) -> Iterator[dict]:
        """Yield the collated batches (``inputs``, ``data_samples``) of one
        target image, loaded by the persistent worker pool if any."""
        plan = self.plan(keys, num_batches, image_key)
        if not plan:
            return iter(())
        if self.num_workers == 0:
            items = _SeededItems(self.dataset)
            return (pseudo_collate([items[item] for item in batch])
                    for batch in plan)
        if self._loader is None:
            self._loader = DataLoader(
                _SeededItems(self.dataset),
                batch_sampler=self._plan,
                num_workers=self.num_workers,
                collate_fn=pseudo_collate,
                persistent_workers=True)
        self._plan.batches = plan
        return iter(self._loader)


@MODELS.register_module()
class RIBClassifier(CAMClassifier):
    """CAMs of a classifier fine-tuned per image with RIB.

    Reducing the information bottleneck (Lee et al., NeurIPS 2021;
    dissertation §3.4), as the official ``obtain_RIB_CAM.py``. For every
    test image (multi-scale inputs, see :class:`CAMClassifier`) the trained
    classifier is fine-tuned for ``num_iters`` (K) steps and the CAMs of
    every visited model are summed:

    1. Step ``k`` (0-based): at every scale, the raw maps of the image and
       its flip are computed with the current weights and ReLU(raw) of each
       copy is added to that scale's accumulator.
    2. Explosion stop (``k > 0``): the CAM ``ReLU(raw[0]) +
       hflip(ReLU(raw[1]))`` of the scale ``explode_scale`` (1.0), computed
       first, is divided per ground-truth class by its max + 1e-5; if the
       union of the class maps above ``explode_th`` (0.3) covers more than
       ``explode_ratio`` (0.7) of the pixels, the loop ends at once. As in
       the reference the accumulator of that scale then holds the step-``k``
       term while the other scales do not.
    3. Loss: the raw maps of the scales in ``loss_scales`` (1.0, 1.5, 2.0;
       the reference leaves 0.5 out of the loss), image and flip, and of a
       batch of ``batch_size`` (B = 20) training images whose classes are
       disjoint from the target's (:class:`DisjointImageBatches`), are
       pooled with GNDRP (:func:`mmwsss.functional.gndrp_pool`, ``tau``
       0.4; each row with its own labels) and the loss is
       ``-sum(label logits)`` without sigmoid
       (:func:`mmwsss.functional.rib_loss`). One SGD step: learning rate
       ``lr`` (8e-6) for the backbone and neck, ``lr * head_lr_mult``
       (x10) for the head, weight decay 1e-4, momentum 1e-4 (the
       reference's ``PolyOptimizer`` puts the weight decay into SGD's
       momentum slot), poly decay (power 0.9) over K steps.
    4. Logit stop: if ``|sum of the target rows' label logits|`` (the six
       loss rows of the target, before the step) exceeds ``stop_th`` (600;
       the code's stand-in for the paper's margin), the loop ends after
       this step, so the CAM of the updated model is not added.

    The K (or fewer) accumulated scales are merged like plain CAMs
    (:func:`mmwsss.functional.merge_multiscale_cams`): the output fields
    ``cam_keys``, ``cam_strided``, ``cam_high_res`` are those of
    :class:`CAMClassifier`, so :class:`mmwsss.CAMWriter`, resuming and
    distributed runs work unchanged. ``pred_score`` comes from the initial
    model; ``rib_steps`` (completed updates) and ``rib_stop`` (``'iters'``,
    ``'logits'`` or ``'explosion'``) are added to the metainfo.

    Only parameters with ``requires_grad`` are fine-tuned (the reference
    updates layer3, layer4 and the classifier: use ``frozen_stages=2`` on
    a ResNet); the model stays in eval mode, so BatchNorm statistics are
    fixed. The weights are copied once per image into a device-resident
    buffer and restored from it afterwards (also on errors), so no image
    sees another's fine-tuning.

    Args:
        rib_data (dict, optional): Arguments of
            :class:`DisjointImageBatches` except ``num_classes`` (the
            head's): ``dataset`` (e.g. the training set config),
            ``batch_size``, ``num_workers``, ``seed``, ``cache_size``. None
            fine-tunes on the target image alone. Defaults to None.
        num_iters (int): RIB iterations K. Defaults to 10.
        lr (float): Learning rate. Defaults to 8e-6.
        head_lr_mult (float): Learning-rate factor of the head.
            Defaults to 10.
        weight_decay (float): Defaults to 1e-4.
        momentum (float): SGD momentum. Defaults to 1e-4 (reference quirk).
        poly_power (float): Defaults to 0.9.
        tau (float): GNDRP threshold. Defaults to 0.4.
        pooling (str): ``'gndrp'`` (the method) or ``'gap'``: global average
            pooling of the raw maps in the fine-tuning loss, "RIB-GAP" of
            dissertation Table 3.9c. (``tau > 1`` also gives GAP for maps
            whose max is positive, but not otherwise: use this switch.)
            Defaults to ``'gndrp'``.
        loss_activation (str, optional): None fine-tunes with RIB's loss
            (:func:`mmwsss.functional.rib_loss`); ``'sigmoid'``, ``'tanh'``
            or ``'softsign'`` with the BCE on that activation instead, the
            ablation of dissertation Table 3.9a (the logit stop still reads
            the pooled logits). Defaults to None.
        stop_th (float, optional): Logit stop threshold; None disables it.
            Defaults to 600.
        explode_th (float): Defaults to 0.3.
        explode_ratio (float, optional): Covered fraction that stops; None
            disables the explosion stop. Defaults to 0.7.
        loss_scales (Sequence[float]): Scale factors (of
            :class:`MultiScaleResize`, ``cam_scales``) whose maps enter the
            loss. Defaults to (1.0, 1.5, 2.0).
        explode_scale (float): Scale of the explosion test; if the inputs
            lack it the test is skipped. Defaults to 1.0.
        aux_chunk_size (int, optional): Forward/backward the auxiliary
            batch in chunks of this size to save memory (the gradients are
            summed, so the step is the same). Defaults to None (one chunk).
        **kwargs: Arguments of :class:`CAMClassifier`.
    """

    def __init__(self,
                 *args,
                 rib_data: Optional[dict] = None,
                 num_iters: int = 10,
                 lr: float = 8e-6,
                 head_lr_mult: float = 10.0,
                 weight_decay: float = 1e-4,
                 momentum: float = 1e-4,
                 poly_power: float = 0.9,
                 tau: float = 0.4,
                 pooling: str = 'gndrp',
                 loss_activation: Optional[str] = None,
                 stop_th: Optional[float] = 600.0,
                 explode_th: float = 0.3,
                 explode_ratio: Optional[float] = 0.7,
                 loss_scales: Sequence[float] = (1.0, 1.5, 2.0),
                 explode_scale: float = 1.0,
                 aux_chunk_size: Optional[int] = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        if pooling not in ('gndrp', 'gap'):
            raise ValueError(
                f"pooling must be 'gndrp' or 'gap', got {pooling!r}")
        if loss_activation is not None and (loss_activation
                                            not in RIB_LOSS_ACTIVATIONS):
            raise ValueError(
                f'loss_activation must be None or one of '
                f'{sorted(RIB_LOSS_ACTIVATIONS)}, got {loss_activation!r}')
        self.rib_batches = None
        if rib_data is not None:
            self.rib_batches = DisjointImageBatches(
                num_classes=self.head.num_classes, **rib_data)
        self.num_iters = num_iters
        self.lr = lr
        self.head_lr_mult = head_lr_mult
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.poly_power = poly_power
        self.tau = tau
        self.pooling = pooling
        self.loss_activation = loss_activation
        self.stop_th = stop_th
        self.explode_th = explode_th
        self.explode_ratio = explode_ratio
        self.loss_scales = tuple(float(s) for s in loss_scales)
        self.explode_scale = float(explode_scale)
        self.aux_chunk_size = aux_chunk_size
        self._initial_weights: Optional[List[torch.Tensor]] = None
        self._warned_no_disjoint = False

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """RIB CAMs of one image (see the class docstring)."""
        keys = ground_truth_cam_keys(sample)
        factors = sample.metainfo.get('cam_scales')
        if factors is None or len(factors) != len(scales):
            raise ValueError(
                'RIB needs the scale factor of every input scale (metainfo '
                f'"cam_scales", set by MultiScaleResize), got {factors!r} '
                f'for {len(scales)} scales')
        image_key = self._image_key(sample)
        # The test loop runs under no_grad.
        with torch.enable_grad():
            accumulated, logits, steps, reason = self._fine_tune(
                scales, [float(f) for f in factors], keys, image_key)
        strided, high_res = merge_multiscale_cams(
            accumulated, tuple(sample.ori_shape), keys)
        self.head.fill_prediction(sample, self.head.scores(logits[None])[0])
        sample.set_metainfo(dict(rib_steps=steps, rib_stop=reason))
        sample.cam_keys = keys
        sample.cam_strided = strided
        sample.cam_high_res = high_res
        return sample

    @staticmethod
    def _image_key(sample: DataSample) -> str:
        """The image's key that seeds its auxiliary batches."""
        return sample.metainfo.get('img_id') or osp.splitext(
            osp.basename(sample.metainfo.get('img_path', '')))[0]

    def _save_weights(self, params: List[torch.Tensor]) -> None:
        """Copy the weights into the device-resident buffer."""
        saved = self._initial_weights
        if saved is None or len(saved) != len(params) or any(
                s.shape != p.shape or s.device != p.device
                for s, p in zip(saved, params)):
            self._initial_weights = [p.detach().clone() for p in params]
            return
        for s, p in zip(saved, params):
            s.copy_(p.detach())

    def _restore_weights(self, params: List[torch.Tensor]) -> None:
        with torch.no_grad():
            for s, p in zip(self._initial_weights, params):
                p.copy_(s)
                p.grad = None

    def _optimizer(self, params: List[torch.Tensor]) -> torch.optim.SGD:
        head = {id(p) for p in self.head.parameters()}
        groups = [
            dict(params=[p for p in params if id(p) not in head],
                 lr=self.lr),
            dict(params=[p for p in params if id(p) in head],
                 lr=self.lr * self.head_lr_mult),
        ]
        groups = [g for g in groups if g['params']]
        for group in groups:
            group['initial_lr'] = group['lr']
        return torch.optim.SGD(
            groups,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay)

    def _aux_batches(self, keys: torch.Tensor,
                     image_key: str) -> Iterator[dict]:
        if self.rib_batches is None:
            return iter(())
        batches = self.rib_batches.batches(keys.tolist(), self.num_iters,
                                           image_key)
        if (not self._warned_no_disjoint and
                self.rib_batches.disjoint_indices(keys.tolist()).size == 0):
            self._warned_no_disjoint = True
            print_log(
                f'RIB: no training image is disjoint from the classes '
                f'{keys.tolist()} of {image_key}; images like it are '
                'fine-tuned on themselves only', 'current')
        return batches

    def _pool(self, raw_maps: torch.Tensor,
              labels: torch.Tensor) -> torch.Tensor:
        """(N, C) logits of the loss: GNDRP or, with ``pooling='gap'``, the
        spatial mean of the raw maps."""
        if self.pooling == 'gap':
            return raw_maps.mean((2, 3))
        return gndrp_pool(raw_maps, labels, self.tau)

    def _loss(self, logits: torch.Tensor,
              labels: torch.Tensor) -> torch.Tensor:
        """The fine-tuning loss (RIB's, or a BCE ablation)."""
        return rib_loss(logits, labels, activation=self.loss_activation)

    def _aux_backward(self, batch: dict) -> None:
        """Backward RIB's loss on one auxiliary batch (own labels)."""
        data = self.data_preprocessor(batch, False)
        inputs = data['inputs']
        labels = inputs.new_zeros(len(data['data_samples']),
                                  self.head.num_classes)
        for row, sample in zip(labels, data['data_samples']):
            row[sample.gt_label.long().to(labels.device)] = 1
        chunk = self.aux_chunk_size or len(inputs)
        for x, y in zip(inputs.split(chunk), labels.split(chunk)):
            self._loss(self._pool(self.raw_cams(x), y), y).backward()

    def _fine_tune(self,
                   scales: Sequence[torch.Tensor],
                   factors: List[float],
                   keys: torch.Tensor,
                   image_key: str,
                   keep_last_model: bool = False
                   ) -> Tuple[List[torch.Tensor], torch.Tensor, int, str]:
        """Run the RIB loop on one image.

        Args:
            keep_last_model (bool): Leave the parameters at the last model
                whose maps were accumulated (the model before the final
                update; before the explosion for an explosion stop) instead
                of restoring the initial weights; the caller restores them
                with :meth:`_restore_weights`. Defaults to False.

        Returns:
            tuple: Per scale the accumulated (2, C, h, w) ReLU maps of image
            and flip, the initial model's logits of the first scale, the
            number of completed updates and the stop reason.
        """
        in_loss = [f in self.loss_scales for f in factors]
        if not any(in_loss):
            raise ValueError(f'None of the input scales {factors} is in '
                             f'loss_scales {self.loss_scales}')
        explode = (
            factors.index(self.explode_scale)
            if self.explode_ratio is not None
            and self.explode_scale in factors else None)
        # The explosion scale first: when it fires, no other scale gets the
        # step's maps (the reference's order 1.0, 0.5, 1.5, 2.0).
        order = list(range(len(scales)))
        if explode is not None:
            order.remove(explode)
            order.insert(0, explode)
        pairs = [torch.stack([img, img.flip(-1)]) for img in scales]
        target_labels = pairs[0].new_zeros(self.head.num_classes)
        target_labels[keys.to(target_labels.device)] = 1

        params = [p for p in self.parameters() if p.requires_grad]
        self._save_weights(params)
        optimizer = self._optimizer(params)
        accumulated: List[Optional[torch.Tensor]] = [None] * len(scales)
        logits0, steps, reason = None, 0, 'iters'
        # The weights of the last model whose maps were accumulated.
        last_model: Optional[List[torch.Tensor]] = None
        restore = True
        try:
            batches = self._aux_batches(keys, image_key)
            for step in range(self.num_iters):
                for group in optimizer.param_groups:
                    group['lr'] = rib_poly_lr(group['initial_lr'], step,
                                              self.num_iters,
                                              self.poly_power)
                optimizer.zero_grad(set_to_none=True)
                target_logits = []
                for s in order:
                    with torch.set_grad_enabled(in_loss[s]):
                        raw = self.raw_cams(pairs[s])
                    maps = raw.detach().relu()
                    accumulated[s] = maps if accumulated[s] is None else (
                        accumulated[s] + maps)
                    if step == 0 and s == 0:
                        logits0 = raw[0].detach().mean(dim=(1, 2))
                    if s == explode and step > 0 and rib_explosion_stop(
                            maps[0] + maps[1].flip(-1), keys,
                            self.explode_th, self.explode_ratio):
                        reason = 'explosion'
                        break
                    if in_loss[s]:
                        logits = self._pool(raw, target_labels)
                        self._loss(logits, target_labels).backward()
                        target_logits.append(logits.detach())
                if reason == 'explosion':
                    break
                batch = next(batches, None)
                if batch is not None:
                    self._aux_backward(batch)
                if keep_last_model:
                    last_model = _copy_into(last_model, params)
                optimizer.step()
                steps = step + 1
                if self.stop_th is not None and rib_target_stop(
                        torch.cat(target_logits), target_labels,
                        self.stop_th)[1]:
                    reason = 'logits'
                    break
            if last_model is not None:
                with torch.no_grad():
                    for saved, param in zip(last_model, params):
                        param.copy_(saved)
                        param.grad = None
                restore = False
        finally:
            if restore:
                self._restore_weights(params)
        return accumulated, logits0, steps, reason


def _copy_into(buffer: Optional[List[torch.Tensor]],
               params: List[torch.Tensor]) -> List[torch.Tensor]:
    """Copy ``params`` into ``buffer`` (allocated on the first call)."""
    if buffer is None:
        return [p.detach().clone() for p in params]
    for saved, param in zip(buffer, params):
        saved.copy_(param.detach())
    return buffer
