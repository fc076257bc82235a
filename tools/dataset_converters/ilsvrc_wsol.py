# Copyright (c) mmwsss contributors. All rights reserved.
"""Assemble ILSVRC 2012 for WSOL (configs/_base_/datasets/imagenet_wsol.py)
from the ImageNet devkit or from Kaggle's localization challenge.

Devkit route (image-net.org downloads):
    ILSVRC2012_devkit_t12/data/meta.mat         ILSVRC2012_devkit_t12.tar.gz
    ILSVRC2012_img_val/*.JPEG                   ILSVRC2012_img_val.tar
    ILSVRC2012_bbox_val_v3/val/*.xml            ILSVRC2012_bbox_val_v3.tgz
    train/<wnid>/*.JPEG                         ILSVRC2012_img_train.tar, each
                                                class tar unpacked to its folder

    python tools/dataset_converters/ilsvrc_wsol.py data/imagenet \
        --devkit ILSVRC2012_devkit_t12 --val-images ILSVRC2012_img_val \
        --val-boxes ILSVRC2012_bbox_val_v3/val --train-images train

Kaggle route (imagenet-object-localization-challenge):
    LOC_synset_mapping.txt  LOC_val_solution.csv
    ILSVRC/Data/CLS-LOC/{train/<wnid>,val}/*.JPEG
    ILSVRC/Annotations/CLS-LOC/val/*.xml        (XMLs are made from the CSV
                                                 when this folder is absent)

    python tools/dataset_converters/ilsvrc_wsol.py data/imagenet \
        --kaggle imagenet-object-localization-challenge

Result in OUT_ROOT: train/ val/ val_bbox/ (links to the folders above, or
XMLs) and LOC_synset_mapping.txt (labels 0..999 = sorted wnids). The
wsolevaluation metadata (metadata/ILSVRC/...) needs no conversion: use
mmwsss.WSOLMetadataDataset. Reruns are safe; differing outputs are refused
unless --overwrite.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import convert_ilsvrc_wsol  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_root', help='the folder the configs read')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--devkit', help='ILSVRC2012_devkit_t12 folder')
    source.add_argument('--kaggle', help="Kaggle's challenge folder")
    parser.add_argument('--val-images', help='flat validation image folder')
    parser.add_argument('--val-boxes', help='validation XML folder')
    parser.add_argument(
        '--train-images', help='training images, one folder per wnid')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace outputs whose content differs')
    args = parser.parse_args(argv)
    try:
        counts = convert_ilsvrc_wsol(
            args.out_root,
            devkit=args.devkit,
            kaggle=args.kaggle,
            val_images=args.val_images,
            val_boxes=args.val_boxes,
            train_images=args.train_images,
            overwrite=args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        sys.exit(f'ilsvrc_wsol: {e}')
    print(f"{counts['synsets']} synsets" +
          (f", {counts['xml']} XMLs from the CSV" if 'xml' in counts else '') +
          f"; files: {counts.get('written', 0)} written, "
          f"{counts.get('unchanged', 0)} unchanged")


if __name__ == '__main__':
    main()
