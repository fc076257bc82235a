# Copyright (c) mmwsss contributors. All rights reserved.
"""Write mmwsss CAM files (with high_res maps) in the format of a research
code, so that our CAMs feed the official IRN, PSA, CLIP-ES or
wsolevaluation code (formats: see import_cams.py --help).

Example:
    python tools/dataset_converters/export_cams.py --format irn \
        work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams result/cam
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import export_cams  # noqa: E402
from mmwsss.fileio import RESEARCH_CAM_FORMATS  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='folder of mmwsss CAM files (.npz)')
    parser.add_argument('dst', help='output folder')
    parser.add_argument(
        '--format', required=True, choices=RESEARCH_CAM_FORMATS)
    parser.add_argument(
        '--image-suffix',
        default='.jpg',
        help='image file suffix, for wsolevaluation file names')
    args = parser.parse_args(argv)
    try:
        counts, failures = export_cams(args.src, args.dst, args.format,
                                       args.image_suffix)
    except FileNotFoundError as e:
        sys.exit(f'export_cams: {e}')
    print(f"{counts['written']} of {counts['files']} CAM files written")
    if failures:
        sys.exit('export_cams: failed files:\n  ' + '\n  '.join(failures))


if __name__ == '__main__':
    main()
