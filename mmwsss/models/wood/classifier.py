# Copyright (c) mmwsss contributors. All rights reserved.
"""W-OoD: a CAM classifier trained with out-of-distribution images
(naver-ai/w-ood)."""
import copy
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.runner import Runner
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..classifiers.cam_classifier import CAMClassifier
from .functional import (WOOD_DISTANCE_TERMS, wood_distance_loss,
                         wood_ood_loss, wood_perturb_ood)


@MODELS.register_module()
class WOoDClassifier(CAMClassifier):
    """A :class:`CAMClassifier` fine-tuned with hard OoD images (W-OoD).

    Training follows the official ``train_cam_clustering.py``. For every
    in-distribution batch (B images, multi-hot labels ``y``):

    - ``loss_cls``: the head's classification loss of the batch (the mean
      BCE-with-logits with the default ``CAMHead`` loss, as the reference);
    - ``loss_distance = distance_lambda * L_M`` with ``L_M`` the distance of
      the pooled penultimate features (GAP of the last feature map) to the
      class centres of their labels minus the distance to the closest
      ``topk_ratio`` of the OoD cluster centres
      (:func:`mmwsss.functional.wood_distance_loss`, batch-pooled threshold
      as the reference, per image with ``per_image_topk=True``);
    - ``loss_ood = ood_coeff * L_ood``: a batch of OoD images from the
      model's own OoD loader (``ood_data``, a fresh batch every step, cycled
      without end) gets one anti-adversarial step that raises its highest
      class score (:func:`mmwsss.functional.wood_perturb_ood`), then the
      multi-label soft-margin loss against all-zero targets, summed and
      divided by ``ood_loss_divisor`` (the reference divides by the
      in-distribution batch size, the default here)
      (:func:`mmwsss.functional.wood_ood_loss`). OoD images whose arg-max
      class is in ``excluded_classes`` are left out; the reference hard-codes
      VOC's "bottle" (index 4), which is an option of the VOC config here.

    The class centres (C, D) and OoD cluster centres (K, D) are buffers,
    computed once before training from the initial classifier by
    :class:`mmwsss.WOoDCentersHook` and saved with the checkpoints (a resumed
    run keeps them). Prediction and CAM inference are those of
    :class:`CAMClassifier`.

    Args:
        ood_data (dict, optional): The OoD training loader: ``dataset`` (an
            :class:`mmwsss.OoDImageDataset` config with the training
            augmentation), ``batch_size`` (16), ``num_workers`` (0) and
            ``seed`` (None: the run's, see :meth:`restart_data_stream`) of
            its sample order and worker processes. None disables
            ``loss_ood`` (e.g. for tests or a distance-only ablation).
        num_ood_clusters (int): K of the OoD K-means. Defaults to 50.
        distance_lambda (float): Weight of ``L_M``. Defaults to 0.007.
        ood_coeff (float): Weight of ``L_ood``. Defaults to 0.25.
        topk_ratio (float): Fraction tau of the OoD distances treated as
            close. Defaults to 0.2.
        per_image_topk (bool): One threshold per image instead of one per
            batch (the reference). Defaults to False.
        ood_step_size (float): Anti-adversarial step size relative to the
            largest gradient entry; 0 skips the step. Defaults to 0.07.
        ood_loss_divisor (int, optional): Divisor of the summed OoD loss;
            None uses the in-distribution batch size. Defaults to None.
        excluded_classes (Sequence[int]): Classes whose top-scoring OoD
            images are ignored by ``L_ood``. Defaults to ``()``.
        distance_terms (str): Parts of ``L_M``: ``'both'`` (the method),
            ``'pull'`` (towards the class centres only, dissertation
            Table 4.5 (d)) or ``'push'`` (away from the OoD centres only,
            Table 4.5 (e)). Defaults to ``'both'``.
        *args, **kwargs: Arguments of :class:`CAMClassifier` (``backbone``,
            ``head``, which needs ``in_channels``, the feature size D, and
            ``num_classes``, ``neck``, ``data_preprocessor``, ...).
    """

    def __init__(self,
                 *args,
                 ood_data: Optional[dict] = None,
                 num_ood_clusters: int = 50,
                 distance_lambda: float = 0.007,
                 ood_coeff: float = 0.25,
                 topk_ratio: float = 0.2,
                 per_image_topk: bool = False,
                 ood_step_size: float = 0.07,
                 ood_loss_divisor: Optional[int] = None,
                 excluded_classes: Sequence[int] = (),
                 distance_terms: str = 'both',
                 **kwargs):
        super().__init__(*args, **kwargs)
        if num_ood_clusters < 1:
            raise ValueError(
                f'num_ood_clusters must be >= 1, got {num_ood_clusters}')
        if distance_terms not in WOOD_DISTANCE_TERMS:
            raise ValueError(f'distance_terms must be one of '
                             f'{WOOD_DISTANCE_TERMS}, got {distance_terms!r}')
        if ood_data is not None and 'dataset' not in ood_data:
            raise ValueError('ood_data needs a dataset config')
        self.ood_data = copy.deepcopy(ood_data)
        self.num_ood_clusters = num_ood_clusters
        self.distance_lambda = distance_lambda
        self.ood_coeff = ood_coeff
        self.topk_ratio = topk_ratio
        self.per_image_topk = per_image_topk
        self.ood_step_size = ood_step_size
        self.ood_loss_divisor = ood_loss_divisor
        self.excluded_classes = tuple(int(c) for c in excluded_classes)
        self.distance_terms = distance_terms
        num_classes = self.head.num_classes
        channels = self.head.in_channels
        self.register_buffer('wood_class_centers',
                             torch.zeros(num_classes, channels))
        self.register_buffer('wood_ood_centers',
                             torch.zeros(num_ood_clusters, channels))
        self.register_buffer('wood_centers_ready', torch.tensor(False))
        # The buffer read on the host once it is True, so that the check of
        # every training step does not wait for the GPU.
        self._centers_ready_seen = False
        self._ood_iter: Optional[Iterator] = None

    @property
    def centers_ready(self) -> bool:
        """Whether the class and OoD centres have been set."""
        if not self._centers_ready_seen:
            self._centers_ready_seen = bool(self.wood_centers_ready)
        return self._centers_ready_seen

    def _load_from_state_dict(self, *args, **kwargs):
        # A loaded state may have no centres: read the buffer again.
        self._centers_ready_seen = False
        super()._load_from_state_dict(*args, **kwargs)

    def set_centers(self, class_centers: torch.Tensor,
                    ood_centers: torch.Tensor) -> None:
        """Store the class centres (C, D) and OoD cluster centres (K, D)."""
        for name, value in (('wood_class_centers', class_centers),
                            ('wood_ood_centers', ood_centers)):
            buffer = getattr(self, name)
            if tuple(value.shape) != tuple(buffer.shape):
                raise ValueError(f'{name} must have shape '
                                 f'{tuple(buffer.shape)}, got '
                                 f'{tuple(value.shape)}')
            buffer.copy_(value.detach())
        self.wood_centers_ready.fill_(True)
        self._centers_ready_seen = True

    def pooled_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """Penultimate features (B, D): GAP of the last feature map."""
        return self.extract_feat(inputs)[-1].mean(dim=(2, 3))

    def _build_ood_iterator(self,
                            seed: Optional[int] = None,
                            batches_done: int = 0,
                            worker_init_fn: Optional[Callable] = None
                            ) -> Iterator:
        cfg = copy.deepcopy(self.ood_data)
        own_seed = cfg.pop('seed', None)  # the config's wins over the run's
        seed = seed if own_seed is None else own_seed
        num_workers = cfg.pop('num_workers', 0)
        loader = Runner.build_dataloader(
            dict(
                dataset=cfg.pop('dataset'),
                batch_size=cfg.pop('batch_size', 16),
                num_workers=num_workers,
                persistent_workers=num_workers > 0,
                drop_last=True,
                # shards by rank; iterates without end
                sampler=dict(type='InfiniteSampler', shuffle=True, seed=seed),
                collate_fn=dict(type='default_collate'),
                **cfg),
            seed=seed)
        if worker_init_fn is not None:
            loader.worker_init_fn = worker_init_fn
        # Skip the sample indices of the batches already trained on without
        # loading them (the sampler's stream is the rank's).
        for _ in range(batches_done * loader.batch_size):
            next(loader.sampler.indices)
        print_log(
            f'W-OoD: {len(loader.dataset)} OoD images, batch '
            f'{loader.batch_size}', logger='current')
        return iter(loader)

    def restart_data_stream(self, seed: int, batches_done: int,
                            worker_init_fn: Optional[Callable]) -> None:
        """Restart the OoD batches at a position of training, for an exact
        resume (called by :class:`mmwsss.ReproducibleResumeHook` at each
        epoch).

        The OoD sampler is seeded with ``seed`` (unless ``ood_data`` sets a
        seed) and starts after the ``batches_done`` batches of the steps
        already trained (one per step); the workers are seeded by
        ``worker_init_fn``. Without ``ood_data`` nothing happens.

        Args:
            seed (int): Seed of the OoD sample order.
            batches_done (int): Training steps done.
            worker_init_fn (Callable, optional): Seeds the loader workers.
        """
        if self.ood_data is None:
            return
        self._stop_ood_iterator()
        self._ood_iter = self._build_ood_iterator(seed, batches_done,
                                                  worker_init_fn)

    def _stop_ood_iterator(self) -> None:
        shutdown = getattr(self._ood_iter, '_shutdown_workers', None)
        if shutdown is not None:
            shutdown()
        self._ood_iter = None

    def _next_ood_batch(self) -> dict:
        if self._ood_iter is None:
            self._ood_iter = self._build_ood_iterator()
        return next(self._ood_iter)

    def ood_logits(self) -> torch.Tensor:
        """Logits of the next OoD batch after the anti-adversarial step."""
        batch = self.data_preprocessor(self._next_ood_batch(), True)
        images = batch['inputs']

        def classify(x: torch.Tensor) -> torch.Tensor:
            return self.head(self.extract_feat(x))

        if self.ood_step_size > 0:
            images, _ = wood_perturb_ood(classify, images, self.ood_step_size)
        return classify(images)

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """W-OoD training losses of an in-distribution batch.

        Args:
            inputs (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list[DataSample]): With ``gt_label``/``gt_score``.

        Returns:
            dict[str, Tensor]: ``loss`` (classification), ``loss_distance``
            and, with ``ood_data``, ``loss_ood``.
        """
        if not self.centers_ready:
            raise RuntimeError(
                'W-OoD class/OoD centres are not set: add '
                'mmwsss.WOoDCentersHook to custom_hooks (or resume from a '
                'W-OoD checkpoint)')
        feats = self.extract_feat(inputs)
        losses = self.head.loss(feats, data_samples)
        targets = self.head.targets(data_samples, inputs.device)
        features = feats[-1].mean(dim=(2, 3))
        losses['loss_distance'] = self.distance_lambda * wood_distance_loss(
            features, targets, self.wood_class_centers,
            self.wood_ood_centers,
            self.topk_ratio,
            self.per_image_topk,
            terms=self.distance_terms)
        if self.ood_data is not None:
            divisor = self.ood_loss_divisor or inputs.shape[0]
            losses['loss_ood'] = self.ood_coeff * wood_ood_loss(
                self.ood_logits(), divisor, self.excluded_classes or None)
        return losses

    def extra_repr(self) -> str:
        return (f'K={self.num_ood_clusters}, lambda={self.distance_lambda}, '
                f'ood_coeff={self.ood_coeff}, tau={self.topk_ratio}, '
                f'excluded={self.excluded_classes}, '
                f'distance_terms={self.distance_terms}')
