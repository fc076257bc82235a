# Copyright (c) mmwsss contributors. All rights reserved.
"""The demo pipelines on the bundled synthetic benchmark (SynthVOC).

``python tools/demo.py [--branch box] [OPTIONS]`` is
``python tools/run_pipeline.py PIPELINE [OPTIONS]`` with the pipeline of
``make demo`` (image-level labels: CAM, MoANA, IRNet, DeepLab) or
``make demo-box`` (boxes: Faster R-CNN, BBAM, Mask R-CNN); OPTIONS are
run_pipeline's (``--work-dir``, ``--device``, ...).
"""
import argparse
import os.path as osp

import run_pipeline

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PIPELINES = dict(
    image='configs/pipelines/irn_r18w32_synthvoc-demo.py',
    box='configs/pipelines/bbam_r18w32_synthvoc-demo.py')


def main() -> dict:
    """Entry point; returns the pipeline's summary."""
    # --help is run_pipeline's
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('--branch', choices=list(PIPELINES), default='image')
    args, options = parser.parse_known_args()
    return run_pipeline.main(
        [osp.join(ROOT, PIPELINES[args.branch]), *options])


if __name__ == '__main__':
    main()
