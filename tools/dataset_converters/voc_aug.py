# Copyright (c) mmwsss contributors. All rights reserved.
"""Make VOC 2012 + SBD ``train_aug``: ``SegmentationClassAug/`` and
``ImageSets/Segmentation/train_aug.txt`` in the VOC2012 folder.

Source layout (the two downloads, unpacked):

    VOCdevkit/VOC2012/                 VOCtrainval_11-May-2012.tar
        JPEGImages/ Annotations/ SegmentationClass/ SegmentationObject/
        ImageSets/Segmentation/{train,val}.txt
    benchmark_RELEASE/dataset/         SBD, benchmark.tgz
        cls/<id>.mat  train.txt  val.txt

train_aug = SBD train + SBD val + VOC train - VOC val (10,582 images).
Masks: VOC's SegmentationClass where VOC has one, SBD's otherwise; VOC val
masks are included so every config reads one folder.

Already ran mmseg's tools/dataset_converters/voc_aug.py? Leave out
--sbd-root: its SegmentationClassAug/ and aug.txt/trainaug.txt are used, and
the masks it leaves out are added.

Reruns are safe: identical files are left alone, and files that differ are
refused unless --overwrite.

Example:
    python tools/dataset_converters/voc_aug.py data/VOCdevkit/VOC2012 \
        --sbd-root data/benchmark_RELEASE/dataset
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import convert_voc_aug  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('voc_root', help='the VOCdevkit/VOC2012 folder')
    parser.add_argument(
        '--sbd-root', help="SBD's benchmark_RELEASE/dataset folder")
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing files whose content differs')
    args = parser.parse_args(argv)
    try:
        counts = convert_voc_aug(args.voc_root, args.sbd_root, args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        sys.exit(f'voc_aug: {e}')
    print(f"train_aug: {counts['train_aug']} images, val: {counts['val']}; "
          f"files: {counts.get('written', 0)} written, "
          f"{counts.get('unchanged', 0)} unchanged, "
          f"{counts.get('replaced', 0)} replaced")


if __name__ == '__main__':
    main()
