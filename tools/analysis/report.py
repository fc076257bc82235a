# Copyright (c) mmwsss contributors. All rights reserved.
"""One self-contained HTML page (no server, images embedded) describing a
pipeline run's work dir: metrics of every stage, threshold sweep, per-class
IoU, training curves, a gallery of the best, worst and random images, and
the provenance of every writer folder (see :mod:`mmwsss.visualization.report`).

Example::

    python tools/analysis/report.py work_dirs/demo --out report.html
"""
import argparse

from mmwsss.visualization.report import write_report


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir', help='the pipeline run\'s work dir')
    parser.add_argument(
        '--out', help='HTML file (default: WORK_DIR/report.html)')
    parser.add_argument(
        '--gallery', type=int, default=3,
        help='gallery rows per group: best, worst, random (default: 3)')
    parser.add_argument(
        '--data-root',
        help='dataset root (default: the one in the writers\' configs)')
    parser.add_argument('--max-cams', type=int, default=2,
                        help='CAM panels per CAM stage in the gallery')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random gallery rows')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = write_report(args.work_dir, args.out, gallery=args.gallery,
                       data_root=args.data_root, max_cams=args.max_cams,
                       seed=args.seed)
    print(f'report: {out}')


if __name__ == '__main__':
    main()
