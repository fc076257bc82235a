# Copyright (c) mmwsss contributors. All rights reserved.
"""A training set that mixes pixel-labelled images with pseudo-labelled
ones, and the sampler that puts both kinds in every batch (CCT)."""
import os.path as osp
from typing import Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.fileio import get_local_path
from mmseg.datasets import BaseSegDataset
from torch.utils.data import Sampler

from mmwsss.registry import DATA_SAMPLERS, DATASETS
from .pseudo_label_seg import PseudoLabelSegDataset


@DATASETS.register_module()
class SemiSupervisedSegDataset(PseudoLabelSegDataset):
    """Images with pixel ground truth for a subset, pseudo-masks for the rest.

    The training set of semi-supervised segmentation with weak labels (CCT
    in J. Lee's dissertation, Table 3.3: 1,464 VOC ``train`` images with
    their masks + the other 9,118 of ``train_aug`` with pseudo-masks). The
    images are those of ``ann_file``; the pixel-labelled subset is either
    the ids of ``labelled_ann_file`` or a random ``labelled_fraction`` of
    them (drawn with ``split_seed``, so the same for every run). A
    pixel-labelled image reads its label from
    ``data_prefix['seg_map_path']``, the others from ``pseudo_mask_dir``;
    every data info carries ``pixel_labelled`` (True / False), which
    ``PackSegInputs(meta_keys=(..., 'pixel_labelled'))`` passes on to the
    model (:class:`mmwsss.CCTHead`). Missing label files are reported when
    the dataset is built, as in :class:`PseudoLabelSegDataset`.

    Args:
        data_root (str): The VOC2012 (or SynthVOC) folder.
        ann_file (str): All training ids, relative to ``data_root``.
        pseudo_mask_dir (str): Folder of the pseudo-masks, absolute or
            relative to the current directory.
        labelled_ann_file (str, optional): Ids of the pixel-labelled images
            (relative to ``data_root``), all of them in ``ann_file``.
        labelled_fraction (float, optional): Fraction of ``ann_file`` that is
            pixel-labelled (at least one image), when no
            ``labelled_ann_file`` is given.
        split_seed (int): Seed of the ``labelled_fraction`` draw.
            Defaults to 0.
        data_prefix (dict, optional): ``img_path`` and ``seg_map_path`` (the
            ground truth) relative to ``data_root``. Defaults to
            ``dict(img_path='JPEGImages', seg_map_path='SegmentationClass')``.
        **kwargs: Other arguments of :class:`PseudoLabelSegDataset`.
    """

    def __init__(self,
                 data_root: str,
                 ann_file: str,
                 pseudo_mask_dir: str,
                 labelled_ann_file: Optional[str] = None,
                 labelled_fraction: Optional[float] = None,
                 split_seed: int = 0,
                 data_prefix: Optional[dict] = None,
                 **kwargs):
        if (labelled_ann_file is None) == (labelled_fraction is None):
            raise ValueError('Give exactly one of labelled_ann_file and '
                             'labelled_fraction')
        if labelled_fraction is not None and not 0 < labelled_fraction < 1:
            raise ValueError('labelled_fraction must be in (0, 1), got '
                             f'{labelled_fraction}')
        self.pseudo_mask_dir = osp.abspath(pseudo_mask_dir)
        self.labelled_ann_file = labelled_ann_file
        self.labelled_fraction = labelled_fraction
        self.split_seed = split_seed
        #: Dataset indices of the pixel-labelled / pseudo-labelled images.
        self.labelled_indices: List[int] = []
        self.weak_indices: List[int] = []
        super().__init__(
            data_root=data_root,
            ann_file=ann_file,
            data_prefix=data_prefix,
            **kwargs)

    def _labelled_ids(self, ids: Sequence[str]) -> set:
        """The pixel-labelled ids among ``ids`` (those of ``ann_file``)."""
        if self.labelled_ann_file is not None:
            path = self.labelled_ann_file
            if not osp.isabs(path):
                path = osp.join(self.data_root, path)
            with get_local_path(path) as local, open(local) as f:
                chosen = {line.strip() for line in f if line.strip()}
            outside = sorted(chosen - set(ids))
            if outside:
                raise ValueError(
                    f'{len(outside)} ids of {path} are not in '
                    f'{self.ann_file}, e.g. {outside[0]}')
            return chosen
        count = max(1, int(round(self.labelled_fraction * len(ids))))
        rng = np.random.default_rng(self.split_seed)
        return {ids[i] for i in rng.choice(len(ids), count, replace=False)}

    def load_data_list(self) -> List[dict]:
        """Read the split list, route each label, check the label files."""
        data_list = BaseSegDataset.load_data_list(self)
        ids = [
            osp.splitext(osp.basename(info['img_path']))[0]
            for info in data_list
        ]
        labelled = self._labelled_ids(ids)
        self.labelled_indices, self.weak_indices = [], []
        for index, (image_id, info) in enumerate(zip(ids, data_list)):
            info['pixel_labelled'] = image_id in labelled
            if info['pixel_labelled']:
                self.labelled_indices.append(index)
            else:
                self.weak_indices.append(index)
                info['seg_map_path'] = osp.join(
                    self.pseudo_mask_dir, image_id + self.seg_map_suffix)
        return self._check_label_files(data_list)


@DATA_SAMPLERS.register_module()
class SemiSupervisedSampler(Sampler):
    """Endless stream of ``num_labelled`` pixel-labelled then ``num_weak``
    pseudo-labelled indices, repeated.

    With a batch size that is a multiple of ``num_labelled + num_weak``
    every batch holds both kinds in that ratio (CCT: 10 + 10). Each kind is
    drawn from its own pool epoch by epoch (the small labelled pool simply
    turns over faster); under distributed training every rank takes its
    share of each epoch. For iteration-based loops, like mmengine's
    ``InfiniteSampler``.

    Args:
        dataset (SemiSupervisedSegDataset): Dataset with
            ``labelled_indices`` and ``weak_indices``.
        num_labelled (int): Pixel-labelled indices per group. Defaults to 1.
        num_weak (int): Pseudo-labelled indices per group. Defaults to 1.
        shuffle (bool): Shuffle each epoch of each pool. Defaults to True.
        seed (int, optional): Shuffling seed, the same on every rank.
            Defaults to a seed shared by the ranks.
    """

    def __init__(self,
                 dataset,
                 num_labelled: int = 1,
                 num_weak: int = 1,
                 shuffle: bool = True,
                 seed: Optional[int] = None):
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        dataset.full_init()  # the index lists come with the data list
        self.labelled = list(dataset.labelled_indices)
        self.weak = list(dataset.weak_indices)
        for name, pool in (('pixel-labelled', self.labelled),
                           ('pseudo-labelled', self.weak)):
            if len(pool) < world_size:
                raise ValueError(
                    f'{len(pool)} {name} images cannot feed {world_size} '
                    'ranks')
        if num_labelled < 1 or num_weak < 1:
            raise ValueError('num_labelled and num_weak must be >= 1')
        self.num_labelled = num_labelled
        self.num_weak = num_weak
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)

    def _stream(self, pool: List[int], salt: int) -> Iterator[int]:
        """This rank's share of endless epochs of ``pool``."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + salt)
        while True:
            if self.shuffle:
                order = torch.randperm(len(pool), generator=generator)
            else:
                order = torch.arange(len(pool))
            for i in order[self.rank::self.world_size].tolist():
                yield pool[i]

    def __iter__(self) -> Iterator[int]:
        labelled = self._stream(self.labelled, 0)
        weak = self._stream(self.weak, 1)
        while True:
            for _ in range(self.num_labelled):
                yield next(labelled)
            for _ in range(self.num_weak):
                yield next(weak)

    def __len__(self) -> int:
        return self.size
