# Copyright (c) mmwsss contributors. All rights reserved.
"""Prepare COCO 2014 for WSSS: 81-class label PNGs (crowd regions 255),
split lists of the images with instances, and meta.json.

Source layout (train2014.zip, val2014.zip, annotations_trainval2014.zip):

    data/coco2014/
        train2014/COCO_train2014_<12 digits>.jpg
        val2014/COCO_val2014_<12 digits>.jpg
        annotations/instances_{train,val}2014.json

Output in the same folder:

    SegmentationClass/{train2014,val2014}/<image stem>.png
    ImageSets/{train2014,val2014}.txt     (82,081 and 40,137 images)
    meta.json                             (the 80 class names, palette)

which mmwsss.VOCWSSSDataset reads with label_source='seg' (image-level
labels = the classes in the label map). Reruns are safe: identical files are
left alone, differing ones refused unless --overwrite.

Example:
    python tools/dataset_converters/coco14_wsss.py data/coco2014
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import convert_coco14_wsss  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('coco_root', help='the COCO 2014 folder')
    parser.add_argument(
        '--splits', nargs='+', default=['train2014', 'val2014'])
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing files whose content differs')
    args = parser.parse_args(argv)
    for split in args.splits:
        try:
            counts = convert_coco14_wsss(args.coco_root, split,
                                         args.overwrite)
        except (FileNotFoundError, FileExistsError, ValueError) as e:
            sys.exit(f'coco14_wsss: {e}')
        print(f"{split}: {counts['images']} images listed "
              f"({counts['without_instances']} without instances left out)")


if __name__ == '__main__':
    main()
