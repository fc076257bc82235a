# Copyright (c) mmwsss contributors. All rights reserved.
"""Score a folder of saved CAMs (``mmwsss.CAMWriter`` files) as seeds.

Example (the papers' protocol, seeds on VOC 2012 ``train``)::

    python tools/analysis/eval_cam_seeds.py \
        configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py work_dirs/cams/voc12aug \
        --cfg-options test_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt \
            test_dataloader.dataset.data_prefix.seg_map_path=SegmentationClass
"""
import argparse
import os.path as osp
import sys

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from tqdm import tqdm

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.datasets.voc_wsss import read_label_map
from mmwsss.evaluation import CAMSeedMetric
from mmwsss.registry import DATASETS
from mmwsss.utils.io import load_npz


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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmwsss'))
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.pipeline = []
    dataset = DATASETS.build(dataset_cfg)
    num_classes = len(dataset.metainfo['classes'])
    metric = CAMSeedMetric(thresholds=args.thresholds, out_file=args.out)
    metric.dataset_meta = dataset.metainfo
    failures = []
    for info in tqdm(dataset.load_data_list(), desc='seeds', mininterval=2):
        cam_file = osp.join(args.cam_dir, info['img_id'] + '.npz')
        try:
            if not osp.isfile(cam_file):
                raise FileNotFoundError(f'CAM file not found: {cam_file}')
            cams = load_npz(cam_file)
            gt = read_label_map(info['seg_map_path'], num_classes)
            maps = cams['high_res']
            if maps.shape[1:] != gt.shape:
                raise ValueError(f'{cam_file}: high_res maps of size '
                                 f'{maps.shape[1:]} but ground truth '
                                 f'{info["seg_map_path"]} is {gt.shape}')
            metric.process(None, [
                dict(cam_high_res=maps, cam_keys=cams['keys'],
                     gt_sem_seg=dict(data=gt[None].astype(np.int64)))
            ])
        except (OSError, ValueError) as e:
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
