# Copyright (c) mmwsss contributors. All rights reserved.
"""WSOL methods x backbones on cub10 (10 CUB species, 300 train / 243 test).

Trains each WSOL method on each backbone from scratch on the shared ``cub10``
subset with ``tools/train.py``, evaluates the last checkpoint on its test
split with ``tools/test.py`` (``mmwsss.WSOLMetric``, protocol ``'standard'``:
min-max maps, thresholds every 0.01, Top-1 / GT-known Loc at the best
MaxBoxAcc threshold; CAM and MoANA also under ``'moana'``: 65th-percentile
maps, Top-1 Loc at τ = 0.04, GT-known Loc at its best τ), prints one table
and writes ``summary.json`` after every run. Not a test::

    python benchmarks/wsol_cub10.py [--methods CAM MoANA ...]
        [--backbones r18 vgg16 inception-v3] [--epochs 20] [--width 16]
        [--backbone-epochs inception-v3=2] [--resume] [--print-only]

Runs go in the order of ``--backbones``, then of ``--methods``; ``--resume``
keeps the finished runs of the work dir's ``summary.json``.

The recipe is the CPU-sized SynthVOC WSOL one (crop 112, batch 16, poly SGD
lr 0.05, momentum 0.9):

- ``r18``: ResNet-18 at output stride 8 of
  ``configs/moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py`` and the
  method configs built on it (``configs/wsol_baselines/*_r18w32-*``,
  ``configs/moana/moana_r18w32-*``), at stem width ``--width``.
- ``vgg16``: VGG16-GAP with BatchNorm of
  ``configs/cam/cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py``, stage
  widths ``--width`` x (1, 2, 4, 8, 8), conv6 16 x ``--width``.
- ``inception-v3``: ``configs/cam/cam_inception-v3-os8_1xb16-40e_synthvoc-
  wsol-112.py``. Its Inception blocks have fixed widths (only the tail is
  ``16 x --width`` here), so it is slow on CPU: CAM and MoANA only.

A method's parts (batch augment, neck, head, ADL placement) are taken from
its ResNet-18 config and put on the other backbones, with the channel counts
of the backbone. RFGA is MoANA's module with the sigmoid after the sum
(RFGA Eq. 7), residual calibration. SPG runs on ResNet-18 and VGG16 (B1
after layer3.0 / the second conv of VGG's stage 5, B2 on layer3 / stage 5).

Every run uses the same seed and data order. From scratch on 300 images the
numbers are far below the papers' (which fine-tune ImageNet weights on the
full CUB); they compare the methods under identical conditions only. All
thresholds are chosen on the test split (cub10 has no validation split), so
the localization accuracies are oracle numbers like MaxBoxAcc. A failed run
is reported in the table and the others go on. Exits cleanly, with a
message, when the data is absent.
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

#: The ResNet-18 config of each method; RFGA changes MoANA's module.
R18_CONFIGS = dict(
    CAM='moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    HaS='wsol_baselines/has_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    CutMix='wsol_baselines/cutmix_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    ADL='wsol_baselines/adl_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    ACoL='wsol_baselines/acol_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    SPG='wsol_baselines/spg_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    MoANA='moana/moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py',
    RFGA='moana/moana_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py')
CAM_CONFIGS = {
    'r18': R18_CONFIGS['CAM'],
    'vgg16': 'cam/cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py',
    'inception-v3': 'cam/cam_inception-v3-os8_1xb16-40e_synthvoc-wsol-112.py'
}
BACKBONE_METHODS = {
    'r18': tuple(R18_CONFIGS),
    'vgg16': tuple(R18_CONFIGS),
    'inception-v3': ('CAM', 'MoANA')
}
#: Methods also tested under MoANA's protocol (its Table 1 has both).
MOANA_PROTOCOL_METHODS = ('CAM', 'MoANA')
#: (protocol, metric, heading) of the table's columns.
COLUMNS = (('standard', 'Top1Cls', 'Top-1 cls'),
           ('standard', 'MaxBoxAccV2', 'MaxBoxAccV2'),
           ('standard', 'Top1Loc', 'Top-1 Loc'),
           ('standard', 'GTKnownLoc', 'GT-known Loc'),
           ('moana', 'MaxBoxAccMoANA', 'MoANA prot.: MaxBoxAccMoANA'),
           ('moana', 'Top1Loc', 'MoANA prot.: Top-1 Loc (τ 0.04)'),
           ('moana', 'GTKnownLoc', 'MoANA prot.: GT-known Loc'))

# cub10 keeps CUB's class ids 1..10: remapped to 0..9; it has no masks (no
# PxAP), and no validation split (evaluation runs on the test split only).
CONFIG = """
_base_ = ['{base}']
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
model = {model!r}
max_epochs = {epochs}
param_scheduler = dict(end=max_epochs)
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
randomness = dict(seed={seed})
"""
# MoANA's protocol: its normalisation in the model, its metric.
MOANA_PROTOCOL = """
_base_ = ['./config.py']
model = dict(cam_percentile=65)
test_evaluator = dict(protocol='moana')
"""


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=DEFAULT_DATA)
    parser.add_argument('--work-dir', default='work_dirs/wsol_cub10')
    parser.add_argument(
        '--methods', nargs='+', default=list(R18_CONFIGS),
        choices=list(R18_CONFIGS))
    parser.add_argument(
        '--backbones', nargs='+', default=list(CAM_CONFIGS),
        choices=list(CAM_CONFIGS))
    parser.add_argument(
        '--epochs', type=int, default=20, help='training epochs per model')
    parser.add_argument(
        '--backbone-epochs',
        nargs='+',
        default=[],
        metavar='BACKBONE=EPOCHS',
        help='other epochs for some backbones, e.g. inception-v3=3')
    parser.add_argument(
        '--width',
        type=int,
        default=16,
        help='ResNet-18 stem / VGG16 first-stage width (64 is standard)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--resume',
        action='store_true',
        help='keep the finished runs of the summary.json in --work-dir '
        '(same width, seed and epochs) and train the others')
    parser.add_argument(
        '--print-only',
        action='store_true',
        help='print the table of the summary.json in --work-dir and exit')
    args = parser.parse_args()
    args.epochs_of = {backbone: args.epochs for backbone in CAM_CONFIGS}
    for item in args.backbone_epochs:
        backbone, epochs = item.split('=')
        if backbone not in CAM_CONFIGS:
            parser.error(f'unknown backbone in --backbone-epochs: {item}')
        args.epochs_of[backbone] = int(epochs)
    return args


def config_model(config: str) -> dict:
    """The ``model`` of ``configs/<config>``."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', config)).model.to_dict()


def method_parts(method: str) -> dict:
    """The model parts of ``method``'s ResNet-18 config."""
    model = config_model(R18_CONFIGS[method])
    parts = dict(
        neck=model.get('neck'),
        batch_augments=model['data_preprocessor'].get('batch_augments'))
    if model['head']['type'] != 'mmwsss.CAMHead':
        parts['head'] = model['head']
    if model['backbone']['type'] == 'mmwsss.ADLBackbone':
        parts['adl'] = {
            key: model['backbone'][key]
            for key in ('drop_rate', 'drop_threshold')
        }
    if method == 'RFGA':
        # RFGA Eq. 7-8: sigmoid(z_c + z_h + z_w), residual; min-max CAMs
        parts['neck'].update(sigmoid_after_sum=True, calibration='residual')
    return parts


def backbone_model(backbone: str, width: int, parts: dict) -> tuple:
    """The backbone of ``backbone`` at ``width`` (with ADL or the SPG taps
    when ``parts`` asks) and the channels of its last map and of the maps
    SPG's side branches read."""
    if backbone == 'r18':
        inner = dict(base_channels=width)
        channels, side = 8 * width, 4 * width
        taps = ('layer3.0', )
        adl_after = ('layer3.0', 'layer4.0', 'layer4.1')
        side_indices, last_indices = (2, 3), (3, )
    elif backbone == 'vgg16':
        stages = tuple(width * m for m in (1, 2, 4, 8, 8))
        inner = dict(stage_channels=stages, conv6_channels=16 * width)
        channels, side = 16 * width, 8 * width
        # features: stage 4 = 10..13 (3 convs, pool), stage 5 = 14..16
        taps = ('features.15', )
        adl_after = ('features.13', 'features.16')
        side_indices, last_indices = (4, ), ()
    else:
        inner = dict(tail_channels=16 * width)
        channels = 16 * width
        if 'adl' in parts or parts.get('head', {}).get('type') == \
                'mmwsss.SPGHead':
            raise ValueError('ADL / SPG are not wired for InceptionV3 here')
        return inner, channels, None
    # the CAM config's backbone at this width, wrapped
    full = dict(config_model(CAM_CONFIGS[backbone])['backbone'], **inner)
    if 'adl' in parts:
        return dict(
            _delete_=True,
            type='mmwsss.ADLBackbone',
            backbone=dict(full, out_indices=last_indices),
            adl_after=adl_after,
            **parts['adl']), channels, side
    if parts.get('head', {}).get('type') == 'mmwsss.SPGHead':
        return dict(
            _delete_=True,
            type='mmwsss.FeatureTapBackbone',
            backbone=dict(full, out_indices=side_indices),
            tap_after=taps), channels, side
    return inner, channels, side


def model_override(method: str, backbone: str, width: int) -> dict:
    """The ``model`` lines that turn ``backbone``'s CAM config into
    ``method`` at ``width``."""
    parts = method_parts(method)
    backbone_cfg, channels, side = backbone_model(backbone, width, parts)
    model = dict(
        data_preprocessor=dict(num_classes=10),
        backbone=backbone_cfg,
        head=dict(num_classes=10, in_channels=channels))
    if parts['batch_augments']:
        model['data_preprocessor']['batch_augments'] = \
            parts['batch_augments']
    if parts['neck']:
        model['neck'] = dict(parts['neck'], in_channels=channels)
    if method == 'RFGA':
        model['cam_percentile'] = None
    head = parts.get('head')
    if head:
        head = dict(head, _delete_=True, num_classes=10, in_channels=channels)
        if head['type'] == 'mmwsss.ACoLHead':
            head['hidden_channels'] = channels
        elif head['type'] == 'mmwsss.SPGHead':
            head.update(
                side_in_channels=(side, side),
                side_channels=side,
                c_channels=side // 2)
        model['head'] = head
    return model


def run(cmd: list, log_file: str) -> bool:
    """Run a tool with its output in ``log_file``; True on success."""
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with open(log_file, 'w') as log:
        code = subprocess.call(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if code != 0:
        print(f'wsol_cub10: step failed, see {log_file}', flush=True)
    return code == 0


def test_metrics(work_dir: str) -> dict:
    """The metrics that ``tools/test.py`` logged in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    with open(files[-1]) as f:
        record = json.loads(f.readline())
    return {key.split('/')[-1]: value for key, value in record.items()}


def train_and_test(method: str, backbone: str, args: argparse.Namespace,
                   run_dir: str) -> dict:
    """Train one model, test it under both protocols; its record."""
    os.makedirs(run_dir, exist_ok=True)
    config = osp.join(run_dir, 'config.py')
    with open(config, 'w') as f:
        f.write(
            CONFIG.format(
                base=osp.join(ROOT, 'configs', CAM_CONFIGS[backbone]),
                data=osp.abspath(args.data_root),
                model=model_override(method, backbone, args.width),
                epochs=args.epochs_of[backbone],
                seed=args.seed))
    with open(osp.join(run_dir, 'config_moana.py'), 'w') as f:
        f.write(MOANA_PROTOCOL)
    t0 = time.time()
    if not run([
            sys.executable, 'tools/train.py', config, '--work-dir',
            osp.join(run_dir, 'train')
    ], osp.join(run_dir, 'train.log')):
        return dict(failed='train')
    record = dict(
        epochs=args.epochs_of[backbone],
        train_seconds=round(time.time() - t0, 1))
    with open(osp.join(run_dir, 'train', 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    protocols = [('standard', 'config.py')]
    if method in MOANA_PROTOCOL_METHODS:
        protocols.append(('moana', 'config_moana.py'))
    for protocol, name in protocols:
        test_dir = osp.join(run_dir, f'test_{protocol}')
        if not run([
                sys.executable, 'tools/test.py',
                osp.join(run_dir, name), checkpoint, '--work-dir', test_dir
        ], osp.join(run_dir, f'test_{protocol}.log')):
            record['failed'] = f'test {protocol}'
            continue
        record[protocol] = test_metrics(test_dir)
    return record


def print_table(summary: dict) -> None:
    """One Markdown table of every run of ``summary``."""
    print(f'\nWSOL on cub10 test (243 images), width {summary["width"]}, '
          'from scratch, CPU; thresholds chosen on the test split')
    header = ['Method', 'Backbone', 'Epochs'] + [
        heading for _, _, heading in COLUMNS
    ] + ['Train s']
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    backbones, methods = list(CAM_CONFIGS), list(R18_CONFIGS)

    def table_order(key: str) -> tuple:
        method, backbone = key.split('/')
        return backbones.index(backbone), methods.index(method)

    for key in sorted(summary['results'], key=table_order):
        record = summary['results'][key]
        method, backbone = key.split('/')
        cells = [method, backbone, str(record.get('epochs', '-'))]
        for protocol, metric, _ in COLUMNS:
            if 'failed' in record and protocol not in record:
                cells.append('failed')
            else:
                value = record.get(protocol, {}).get(metric)
                cells.append('-' if value is None else f'{value:.2f}')
        cells.append(str(record.get('train_seconds', '-')))
        print('| ' + ' | '.join(cells) + ' |')


def main() -> None:
    """Train, test and tabulate every requested method x backbone."""
    args = parse_args()
    work_dir = osp.abspath(args.work_dir)
    summary_file = osp.join(work_dir, 'summary.json')
    if args.print_only:
        with open(summary_file) as f:
            print_table(json.load(f))
        return
    if not osp.isfile(osp.join(args.data_root, 'images.txt')):
        print('wsol_cub10: skipped, no cub10 data at '
              f'{osp.abspath(args.data_root)}')
        return
    os.makedirs(work_dir, exist_ok=True)
    summary = dict(width=args.width, seed=args.seed, results={})
    if args.resume and osp.isfile(summary_file):
        with open(summary_file) as f:
            previous = json.load(f)
        if (previous['width'], previous['seed']) != (args.width, args.seed):
            sys.exit(f'wsol_cub10: {summary_file} has another width or seed')
        summary['results'] = previous['results']
    # in the order of --backbones, then of --methods
    for backbone in args.backbones:
        for method in args.methods:
            if method not in BACKBONE_METHODS[backbone]:
                continue
            key = f'{method}/{backbone}'
            done = summary['results'].get(key, {})
            if 'failed' not in done and \
                    done.get('epochs') == args.epochs_of[backbone]:
                continue
            summary['results'][key] = train_and_test(
                method, backbone, args,
                osp.join(work_dir, f'{method.lower()}_{backbone}'))
            # written after every run: a partial table survives a stop
            with open(summary_file, 'w') as f:
                json.dump(summary, f, indent=2)
    print_table(summary)
    print(f'\nsummary: {summary_file}')


if __name__ == '__main__':
    main()
