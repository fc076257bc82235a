# Copyright (c) mmwsss contributors. All rights reserved.
"""Convert the CAM files of the research codes into mmwsss CAM files, so
that they feed our IR-label and random-walk stages and
tools/analysis/eval_cam_seeds.py.

Formats (SRC holds one .npy per image):
  irn             IRN / AdvCAM / RIB / W-OoD make_cam.py: <id>.npy, a pickled
                  dict {keys, cam (stride-4 torch tensor), high_res}
  psa             PSA / SEAM / TransCAM: <id>.npy, a pickled dict
                  {class index: (H, W) map}
  clip-es         CLIP-ES: <id>.npy, a pickled dict {keys, attn_highres}
  wsolevaluation  <image file name>.npy, one plain (H, W) score map; the class
                  comes from --metadata (the folder with class_labels.txt)

Why --trust-pickles: the dict formats are Python pickles, and unpickling a
file can run arbitrary code. They are read only with --trust-pickles, and
then through an allow-list that admits numpy arrays and torch tensors only.
Formats without stride-4 maps get them sampled from the full-resolution maps
(every fourth pixel).

Example:
    python tools/dataset_converters/import_cams.py --format irn \
        --trust-pickles result/cam work_dirs/cams/irn_imported
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.converters import import_cams  # noqa: E402
from mmwsss.fileio import RESEARCH_CAM_FORMATS  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='folder of the research code CAM files')
    parser.add_argument('dst', help='folder of the mmwsss CAM files')
    parser.add_argument(
        '--format', required=True, choices=RESEARCH_CAM_FORMATS)
    parser.add_argument(
        '--trust-pickles',
        action='store_true',
        help='read pickled files (see above why this is a choice)')
    parser.add_argument(
        '--metadata', help='wsolevaluation metadata folder (class_labels.txt)')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace existing CAM files whose content differs')
    args = parser.parse_args(argv)
    try:
        counts, failures = import_cams(args.src, args.dst, args.format,
                                       args.trust_pickles, args.metadata,
                                       args.overwrite)
    except (FileNotFoundError, FileExistsError, ValueError) as e:
        sys.exit(f'import_cams: {e}')
    print(f"{counts['files']} files: {counts.get('written', 0)} written, "
          f"{counts.get('unchanged', 0)} unchanged, "
          f"{counts.get('replaced', 0)} replaced, {len(failures)} failed")
    if failures:
        sys.exit('import_cams: failed files:\n  ' + '\n  '.join(failures))


if __name__ == '__main__':
    main()
