# Copyright (c) mmwsss contributors. All rights reserved.
"""Score a folder of saved CAMs (``mmwsss.CAMWriter`` files) as seeds.

The config's test dataset is read with ``mmwsss.LoadCAMFile`` (the CAMs of
each image from the folder) and ``mmwsss.LoadLabelMap`` (its ground truth),
and scored by ``mmwsss.CAMSeedMetric``.

Example (the papers' protocol, seeds on VOC 2012 ``train``)::

    python tools/analysis/eval_cam_seeds.py \
        configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py \
        work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams \
        --cfg-options test_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt \
            test_dataloader.dataset.data_prefix.seg_map_path=SegmentationClass

``--random-cams SEED`` scores uniformly random maps in place of the CAMs
(the same images, classes of the CAM files, threshold sweep and metric): the
chance level the seeds are compared with.
"""
import argparse
import sys
from typing import Optional

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.dataset import BaseDataset, Compose
from mmengine.registry import init_default_scope
from tqdm import tqdm

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.datasets.transforms import (LoadCAMFile, LoadLabelMap,
                                        PackCAMInputs)
from mmwsss.evaluation import CAMSeedMetric
from mmwsss.fileio import cam_path
from mmwsss.registry import DATASETS
from mmwsss.utils.launch import resolve_config_path


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config whose test dataset is scored')
    parser.add_argument('cam_dir', help='folder of <id>.npz CAM files')
    parser.add_argument('--out', help='JSON report (curve, per class)')
    parser.add_argument(
        '--thresholds', type=float, nargs='+',
        help='background thresholds (default 0.01 ... 0.99)')
    parser.add_argument(
        '--stop-on-error', action='store_true',
        help='stop at the first missing or bad file instead of skipping it')
    parser.add_argument(
        '--random-cams', type=int, metavar='SEED',
        help='score uniformly random maps (seeded by SEED) of the classes '
        'of each CAM file instead of its maps: the chance level')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def load_seed_inputs(dataset: BaseDataset, cam_dir: str,
                     maps: bool = True) -> None:
    """Make ``dataset`` yield each image's CAMs (``keys`` and, with
    ``maps``, ``high_res``) and ground truth, packed in its data sample,
    instead of its images."""
    arrays = ('keys', 'high_res') if maps else ('keys', )
    dataset.pipeline = Compose([
        LoadCAMFile(cam_dir, arrays=arrays),
        LoadLabelMap(num_classes=len(dataset.metainfo['classes'])),
        PackCAMInputs()
    ])


def seed_sample(dataset: BaseDataset,
                index: int,
                cam_dir: str,
                rng: Optional[np.random.Generator] = None) -> dict:
    """The data sample of image ``index``, as the metric takes it; with
    ``rng``, its maps are drawn uniformly from [0, 1) (one per class of its
    CAM file, at the size of its ground truth)."""
    sample = dataset[index]['data_samples']
    if rng is not None:
        sample.cam_high_res = rng.random((len(sample.cam_keys), ) +
                                         sample.gt_sem_seg.shape)
    if sample.cam_high_res.shape[1:] != sample.gt_sem_seg.shape:
        raise ValueError(
            f'{cam_path(cam_dir, sample)}: maps of size '
            f'{tuple(sample.cam_high_res.shape[1:])} but its ground truth is '
            f'{sample.gt_sem_seg.shape}')
    return sample.to_dict()


def main():
    args = parse_args()
    cfg = Config.fromfile(resolve_config_path(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmwsss'))
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.pipeline = []
    dataset = DATASETS.build(dataset_cfg)
    chance = args.random_cams is not None
    load_seed_inputs(dataset, args.cam_dir, maps=not chance)
    rng = np.random.default_rng(args.random_cams) if chance else None
    metric = CAMSeedMetric(thresholds=args.thresholds, out_file=args.out)
    metric.dataset_meta = dataset.metainfo
    failures = []
    for index in tqdm(range(len(dataset)), desc='seeds', mininterval=2):
        try:
            metric.process(None,
                           [seed_sample(dataset, index, args.cam_dir, rng)])
        except (OSError, KeyError, ValueError) as e:
            if args.stop_on_error:
                raise
            failures.append(str(e))
    for message in failures:
        print(f'skipped: {message}', file=sys.stderr)
    if not metric.results:
        sys.exit('no CAM could be scored')
    scores = metric.compute_metrics(metric.results)
    print(f'images scored: {len(metric.results)}, skipped: {len(failures)}')
    for key, value in scores.items():
        print(f'{key}: {value:.4f}')


if __name__ == '__main__':
    main()
