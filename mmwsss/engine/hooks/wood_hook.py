# Copyright (c) mmwsss contributors. All rights reserved.
"""Compute W-OoD's class centres and OoD clusters before training."""
from typing import List, Tuple, Union

import torch
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_gather_object, all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader, Dataset, Subset

from mmwsss.registry import DATASETS, HOOKS
from ...models.wood import kmeans


@HOOKS.register_module()
class WOoDCentersHook(Hook):
    """Set the centres of a :class:`mmwsss.WOoDClassifier` before training.

    As the reference ``get_sample_estimator`` (run once, before the first
    step, never updated), from the classifier being fine-tuned (i.e. the
    loaded initial classifier):

    - class centres: the mean pooled penultimate feature (GAP of the last
      feature map) of the in-distribution images of each class (a
      multi-label image counts for each of its classes; a class without
      images gets a zero centre);
    - OoD clusters: Euclidean K-means (``model.num_ood_clusters`` clusters,
      ``kmeans_iterations`` Lloyd steps, initialised with the first K images
      in list order, plain torch) of the pooled features of the OoD images.

    Images are fed one by one (``in_dataset`` and ``ood_dataset`` carry the
    feature pipelines: the reference uses full-size in-distribution images
    and OoD images with the long side resized to 500, no augmentation) with
    the model in eval mode. Distributed: every rank processes the items
    ``rank::world_size``; the class sums are all-reduced and the OoD
    features gathered in list order, so every rank gets the same centres.

    The centres are model buffers and go into the checkpoints: when they are
    already set (a resumed W-OoD run) the hook keeps them unless
    ``recompute`` is True.

    Args:
        in_dataset (dict | Dataset): Labelled in-distribution images.
        ood_dataset (dict | Dataset): OoD images
            (:class:`mmwsss.OoDImageDataset`).
        kmeans_iterations (int): Lloyd iterations. Defaults to 10.
        num_workers (int): Loader workers. Defaults to 0.
        recompute (bool): Recompute centres found in the model. Defaults to
            False.
    """

    priority = 'NORMAL'

    def __init__(self,
                 in_dataset: Union[dict, Dataset],
                 ood_dataset: Union[dict, Dataset],
                 kmeans_iterations: int = 10,
                 num_workers: int = 0,
                 recompute: bool = False):
        self.in_dataset = in_dataset
        self.ood_dataset = ood_dataset
        self.kmeans_iterations = kmeans_iterations
        self.num_workers = num_workers
        self.recompute = recompute

    @staticmethod
    def _build(dataset: Union[dict, Dataset]) -> Dataset:
        return DATASETS.build(dataset) if isinstance(dataset,
                                                     dict) else dataset

    def _shard(self, dataset: Dataset) -> Tuple[List[int], DataLoader]:
        rank, world_size = get_dist_info()
        indices = list(range(rank, len(dataset), world_size))
        loader = DataLoader(
            Subset(dataset, indices),
            batch_size=1,
            shuffle=False,
            num_workers=self.num_workers,
            collate_fn=pseudo_collate)
        return indices, loader

    @torch.no_grad()
    def class_centers(self, model, dataset: Dataset) -> torch.Tensor:
        """(C, D) mean pooled features of each class's images."""
        num_classes = model.head.num_classes
        sums = model.wood_class_centers.new_zeros(
            model.wood_class_centers.shape)
        counts = sums.new_zeros(num_classes)
        _, loader = self._shard(dataset)
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            features = model.pooled_features(data['inputs'])
            labels = model.head.targets(data['data_samples'],
                                         features.device).to(features.dtype)
            labels = (labels > 0).to(features.dtype)
            sums += labels.t() @ features
            counts += labels.sum(0)
        all_reduce(sums)
        all_reduce(counts)
        return sums / counts.clamp(min=1)[:, None]

    @torch.no_grad()
    def ood_features(self, model, dataset: Dataset) -> torch.Tensor:
        """(N, D) pooled features of the OoD images in list order (CPU)."""
        indices, loader = self._shard(dataset)
        features = [
            model.pooled_features(
                model.data_preprocessor(batch, False)['inputs'])[0]
            for batch in loader
        ]
        # One transfer for the shard, not one wait for the device per image;
        # gathered as one tensor (its rows pickled apart would each carry it).
        features = torch.stack(features).cpu() if features else []
        gathered = {}
        for part_indices, part in all_gather_object((indices, features)):
            gathered.update(zip(part_indices, part))
        return torch.stack([gathered[i] for i in range(len(dataset))])

    def before_train(self, runner) -> None:
        """Compute and store the centres (unless already set)."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if model.centers_ready and not self.recompute:
            runner.logger.info('W-OoD: keeping the class/OoD centres of the '
                               'loaded checkpoint')
            return
        in_dataset = self._build(self.in_dataset)
        ood_dataset = self._build(self.ood_dataset)
        k = model.num_ood_clusters
        if len(ood_dataset) < k:
            raise ValueError(f'W-OoD needs at least K={k} OoD images for '
                             f'the K-means, got {len(ood_dataset)}')
        was_training = model.training
        model.eval()
        try:
            centers = self.class_centers(model, in_dataset)
            features = self.ood_features(model, ood_dataset)
        finally:
            model.train(was_training)
        labels, ood_centers = kmeans(features.float(), k,
                                     self.kmeans_iterations)
        model.set_centers(centers, ood_centers.to(centers))
        sizes = torch.bincount(labels, minlength=k).tolist()
        runner.logger.info(
            f'W-OoD: class centres from {len(in_dataset)} images, {k} OoD '
            f'clusters from {len(ood_dataset)} images (sizes {sizes})')
