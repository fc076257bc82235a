# Copyright (c) mmwsss contributors. All rights reserved.
"""CAM vs MoANA for WSOL on cub10 (10 CUB species, 300 train / 243 test).

Trains both models of the CPU-sized SynthVOC WSOL recipe
(``configs/moana/{cam,moana}_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py``:
ResNet-18 at output stride 8, crop 112, poly SGD), at a quarter of the
ResNet-18 width by default (``--base-channels 16``) and for 20 epochs so that
both runs take minutes, from scratch on the shared ``cub10`` subset with
``tools/train.py``, evaluates the last checkpoint on its
test split with ``tools/test.py`` (``mmwsss.WSOLMetric``: CAM of the GT class,
min-max normalised, thresholds every 0.01) and prints the metrics side by
side. Not a test::

    python benchmarks/wsol_cub10.py [--epochs 20] [--base-channels 16]

Both runs use the same seed and data order. From scratch on 300 images the
numbers are far below the papers' (which fine-tune ImageNet weights on the
full CUB); they compare the two heads under identical conditions only. Top-1
Loc and GT-known Loc use the best MaxBoxAcc threshold of the test split (no
validation split exists), so they are oracle numbers like MaxBoxAcc. Exits
cleanly, with a message, when the data is absent.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_DATA = osp.join(osp.dirname(ROOT), 'shared', 'data', 'cub10')
MODELS = dict(
    CAM='cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    MoANA='moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
METRICS = ('Top1Cls', 'MaxBoxAcc', 'MaxBoxAccV2', 'MaxBoxAccV2_IoU30',
           'MaxBoxAccV2_IoU50', 'MaxBoxAccV2_IoU70', 'Top1Loc', 'GTKnownLoc',
           'cam_threshold')

# cub10 keeps CUB's class ids 1..10: remapped to 0..9; it has no masks (no
# PxAP), and no validation split (evaluation runs on the test split only).
CONFIG = """
_base_ = ['{repo}/configs/moana/{base}']
data_root = '{data}'
_loader = dict(num_workers=1, persistent_workers=False)
train_dataloader = dict(
    **_loader, dataset=dict(data_root=data_root, remap_classes=True))
test_dataloader = dict(
    **_loader,
    dataset=dict(
        data_root=data_root,
        remap_classes=True,
        mask_dir=None,
        pipeline=[
            dict(type='mmwsss.LoadImageRGB'),
            dict(type='mmwsss.WSOLResize', size=(112, 112)),
            dict(type='mmwsss.PackWSOLInputs'),
        ]))
val_dataloader = None
val_evaluator = None
val_cfg = None
model = dict(
    data_preprocessor=dict(num_classes=10),
    backbone=dict(base_channels={width}),
    head=dict(num_classes=10, in_channels={channels}){neck})
max_epochs = {epochs}
param_scheduler = dict(end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
randomness = dict(seed={seed})
"""


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=DEFAULT_DATA)
    parser.add_argument('--work-dir', default='work_dirs/wsol_cub10')
    parser.add_argument(
        '--epochs', type=int, default=20, help='training epochs per model')
    parser.add_argument(
        '--base-channels',
        type=int,
        default=16,
        help='ResNet-18 stem width (64 is the standard ResNet-18)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def run(cmd: list, log_file: str) -> None:
    """Run a tool with its output in ``log_file``; stop on failure."""
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(log_file, 'w') as log:
        code = subprocess.call(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        sys.exit(f'wsol_cub10: step failed, see {log_file}')


def test_metrics(work_dir: str) -> dict:
    """The metrics that ``tools/test.py`` logged in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    if not files:
        sys.exit(f'wsol_cub10: no metrics file under {work_dir}')
    with open(files[-1]) as f:
        record = json.loads(f.readline())
    return {key.split('/')[-1]: value for key, value in record.items()}


def main() -> None:
    """Train, test and compare both models."""
    args = parse_args()
    data_root = osp.abspath(args.data_root)
    if not osp.isfile(osp.join(data_root, 'images.txt')):
        print(f'wsol_cub10: skipped, no cub10 data at {data_root}')
        return
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    results = {}
    for name, base in MODELS.items():
        model_dir = osp.join(work_dir, name.lower())
        os.makedirs(model_dir, exist_ok=True)
        config = osp.join(model_dir, 'config.py')
        # layer4 of a ResNet-18 has 8x the stem width
        channels = 8 * args.base_channels
        neck = f', neck=dict(in_channels={channels})' if name == 'MoANA' \
            else ''
        with open(config, 'w') as f:
            f.write(
                CONFIG.format(
                    repo=ROOT,
                    base=base,
                    data=data_root,
                    width=args.base_channels,
                    channels=channels,
                    neck=neck,
                    epochs=args.epochs,
                    seed=args.seed))
        t0 = time.time()
        run([sys.executable, 'tools/train.py', config, '--work-dir',
             osp.join(model_dir, 'train')], osp.join(model_dir, 'train.log'))
        train_seconds = time.time() - t0
        with open(osp.join(model_dir, 'train', 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        test_dir = osp.join(model_dir, 'test')
        run([
            sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
            test_dir
        ], osp.join(model_dir, 'test.log'))
        results[name] = dict(
            test_metrics(test_dir), train_seconds=round(train_seconds, 1))

    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(
            dict(
                epochs=args.epochs,
                base_channels=args.base_channels,
                seed=args.seed,
                results=results),
            f,
            indent=2)
    print(f'\nWSOL on cub10 test (243 images), ResNet-18 width '
          f'{args.base_channels}, {args.epochs} epochs from scratch, measured '
          'in this run')
    print(f'{"metric":<20}' + ''.join(f'{name:>10}' for name in results))
    for key in METRICS + ('train_seconds', ):
        print(f'{key:<20}' + ''.join(f'{r[key]:>10.2f}'
                                     for r in results.values()))
    print(f'\nsummary: {osp.join(work_dir, "summary.json")}')


if __name__ == '__main__':
    main()
