# Copyright (c) mmwsss contributors. All rights reserved.
"""Generate the SynthVOC benchmark and print its summary as JSON.

Example:
    python tools/dataset_converters/generate_synthetic_voc.py \
        data/synthvoc --seed 0 --num-train 300 --num-val 100
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from mmwsss.datasets.synthvoc import (  # noqa: E402
    SYNTHVOC_DEFAULT_KNOBS, SYNTHVOC_KNOB_HELP, generate_synthetic_voc)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line; one option per generator knob.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.
            Defaults to None.

    Returns:
        argparse.Namespace: ``out_dir``, ``seed``, ``overwrite``, the
        saliency options and the knobs.
    """
    parser = argparse.ArgumentParser(
        description='Generate the SynthVOC procedural benchmark.')
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace a previous SynthVOC output in OUT_DIR')
    parser.add_argument(
        '--saliency',
        action='store_true',
        help='also write a saliency map per train/val image (Saliency/)')
    parser.add_argument(
        '--saliency-blur',
        type=float,
        default=0.0,
        help='Gaussian blur sigma of the saliency maps, px (default: 0)')
    parser.add_argument(
        '--saliency-noise',
        type=float,
        default=0.0,
        help='std of the saliency noise, 0..255 scale (default: 0)')
    for name, default in SYNTHVOC_DEFAULT_KNOBS.items():
        flag = '--' + name.replace('_', '-')
        if isinstance(default, tuple):
            parser.add_argument(
                flag,
                type=type(default[0]),
                nargs=2,
                metavar=('MIN', 'MAX'),
                default=default,
                help=f'{SYNTHVOC_KNOB_HELP[name]} (default: {default[0]} '
                f'{default[1]})')
        else:
            parser.add_argument(
                flag,
                type=type(default),
                default=default,
                help=f'{SYNTHVOC_KNOB_HELP[name]} (default: {default})')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run the generator from the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.
            Defaults to None.

    Returns:
        dict: The generator's summary (also printed).
    """
    args = parse_args(argv)
    knobs = {name: getattr(args, name) for name in SYNTHVOC_DEFAULT_KNOBS}
    knobs = {k: tuple(v) if isinstance(v, list) else v
             for k, v in knobs.items()}
    try:
        summary = generate_synthetic_voc(
            args.out_dir,
            seed=args.seed,
            overwrite=args.overwrite,
            saliency=args.saliency,
            saliency_blur=args.saliency_blur,
            saliency_noise=args.saliency_noise,
            **knobs)
    except (ValueError, FileExistsError) as err:
        sys.exit(f'error: {err}')
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    main()
