# Copyright (c) mmwsss contributors. All rights reserved.
"""Compute W-OoD's class centres and OoD clusters before training."""
from typing import List, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.dist import all_gather_object, all_reduce, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.utils.data import DataLoader, Dataset, Subset

from mmwsss.registry import DATASETS, HOOKS
from ...models.wood import kmeans, wood_class_centers

OOD_CLUSTERINGS = ('kmeans', 'predicted_class')


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
      in list order, plain torch) of the pooled features of the OoD images;
      with ``ood_clustering='predicted_class'`` instead one cluster per
      class, the mean feature of the OoD images the classifier predicts
      (arg-max logit) as that class (dissertation Table 4.4, which needs
      ``num_ood_clusters`` = the number of classes; a class no OoD image is
      predicted as gets the mean of all OoD features).

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
        ood_clustering (str): ``'kmeans'`` (the method) or
            ``'predicted_class'`` (the ablation of dissertation Table 4.4).
            Defaults to ``'kmeans'``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 in_dataset: Union[dict, Dataset],
                 ood_dataset: Union[dict, Dataset],
                 kmeans_iterations: int = 10,
                 num_workers: int = 0,
                 recompute: bool = False,
                 ood_clustering: str = 'kmeans'):
        if ood_clustering not in OOD_CLUSTERINGS:
            raise ValueError(f'ood_clustering must be one of '
                             f'{OOD_CLUSTERINGS}, got {ood_clustering!r}')
        self.ood_clustering = ood_clustering
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

    @staticmethod
    def _feature_and_prediction(model, inputs: torch.Tensor) -> torch.Tensor:
        """One image's pooled feature (D,) with its arg-max class appended
        as a last entry (so both reach the host in one transfer)."""
        feats = model.extract_feat(inputs)
        predicted = model.head(feats).argmax(dim=1).to(feats[-1].dtype)
        return torch.cat([feats[-1].mean(dim=(2, 3))[0], predicted])

    @torch.no_grad()
    def ood_features(self,
                     model,
                     dataset: Dataset,
                     with_predictions: bool = False) -> torch.Tensor:
        """(N, D) pooled features of the OoD images in list order (CPU);
        with ``with_predictions`` (N, D + 1), the predicted class last."""
        indices, loader = self._shard(dataset)
        extract = (
            self._feature_and_prediction if with_predictions else
            lambda model, inputs: model.pooled_features(inputs)[0])
        features = [
            extract(model,
                    model.data_preprocessor(batch, False)['inputs'])
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
        by_class = self.ood_clustering == 'predicted_class'
        if by_class and k != model.head.num_classes:
            raise ValueError(
                "ood_clustering='predicted_class' makes one OoD cluster per "
                f'class: set num_ood_clusters={model.head.num_classes} '
                f'(got {k})')
        if not by_class and len(ood_dataset) < k:
            raise ValueError(f'W-OoD needs at least K={k} OoD images for '
                             f'the K-means, got {len(ood_dataset)}')
        was_training = model.training
        model.eval()
        try:
            centers = self.class_centers(model, in_dataset)
            features = self.ood_features(model, ood_dataset, by_class)
        finally:
            model.train(was_training)
        if by_class:
            labels, ood_centers = self.predicted_class_clusters(
                features[:, :-1].float(), features[:, -1].long(), k)
        else:
            labels, ood_centers = kmeans(features.float(), k,
                                         self.kmeans_iterations)
        model.set_centers(centers, ood_centers.to(centers))
        sizes = torch.bincount(labels, minlength=k).tolist()
        runner.logger.info(
            f'W-OoD: class centres from {len(in_dataset)} images, {k} OoD '
            f'clusters ({self.ood_clustering}) from {len(ood_dataset)} '
            f'images (sizes {sizes})')

    @staticmethod
    def predicted_class_clusters(
            features: torch.Tensor, predicted: torch.Tensor,
            num_classes: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """OoD clusters by predicted class (dissertation Table 4.4).

        Args:
            features (torch.Tensor): (N, D) OoD features.
            predicted (torch.Tensor): (N,) their arg-max classes.
            num_classes (int): Number of classes (= clusters).

        Returns:
            tuple[torch.Tensor, torch.Tensor]: The labels (N,) (the
            predicted classes) and the (C, D) centres: the mean feature of
            each class's images, the mean of all features for a class no
            image is predicted as.
        """
        members = F.one_hot(predicted, num_classes)
        centers = wood_class_centers(features, members)
        empty = members.sum(0) == 0
        centers[empty] = features.mean(0)
        return predicted, centers
