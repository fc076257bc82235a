# Copyright (c) mmwsss contributors. All rights reserved.
"""Write COCO instance jsons of VOC 2012 segmentation splits from
``SegmentationObject`` + ``SegmentationClass``.

Source layout (VOCtrainval_11-May-2012.tar):

    VOCdevkit/VOC2012/
        SegmentationObject/<id>.png  SegmentationClass/<id>.png
        ImageSets/Segmentation/{train,val}.txt

Output: VOC2012/annotations/instances_<split>2012.json (images 1..N in list
order, file_name <id>.jpg, VOC's 20 classes as categories 1..20), what the
BBAM Mask R-CNN configs evaluate on and mmdet's CocoDataset reads.

Example:
    python tools/dataset_converters/voc_instances.py data/VOCdevkit/VOC2012 \
        --splits train val
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import convert_voc_instances  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('voc_root', help='the VOCdevkit/VOC2012 folder')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=['train', 'val'],
        help='lists of ImageSets/Segmentation (default: train val)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace an existing json whose content differs')
    args = parser.parse_args(argv)
    for split in args.splits:
        try:
            counts = convert_voc_instances(
                args.voc_root, split, overwrite=args.overwrite)
        except (FileNotFoundError, FileExistsError, ValueError) as e:
            sys.exit(f'voc_instances: {e}')
        print(f"{split}: {counts['images']} images, "
              f"{counts['instances']} instances")


if __name__ == '__main__':
    main()
