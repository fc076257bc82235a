# Copyright (c) mmwsss contributors. All rights reserved.
"""Compare CAM refiners (CAM, AdvCAM, RIB, FickleNet) on the same images.

Every method is one standard ``tools/test.py`` job of its SynthVOC config on
the first ``--num-images`` training images (``indices`` of the test
dataset), writing ``<work-dir>/cams/<method>/<id>.npz``. The written files
of all methods are then scored by ``mmwsss.CAMSeedMetric`` on the same
image list, and a side-by-side table (seed mIoU, best background threshold,
precision, recall, seconds per image) is printed and saved as
``<work-dir>/compare_<N>.json``.

Rerunning resumes: a method whose CAMs of the selected images all exist is
not run again, and a job that was stopped continues where it stopped (the
``ResumableTestLoop`` skips written files). Seconds per image are measured
between the first and the last file a run writes (process start and model
loading excluded), summed over the runs of a method
(``<work-dir>/timings.json``, which also keeps the jobs' wall times).

Example (SynthVOC, the demo CAM classifier and the fine-tuned FickleNet)::

    python tools/analysis/compare_cam_refiners.py data/synthvoc \
        work_dirs/demo/cam_classifier/epoch_20.pth \
        work_dirs/ficklenet_synthvoc/train/epoch_5.pth \
        --work-dir work_dirs/refiner_compare --num-images 20
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# method -> (config, which checkpoint: 'cam' or 'ficklenet')
METHODS = {
    'cam': ('configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py', 'cam'),
    'advcam': ('configs/advcam/advcam_cam-r18w32-os16_synthvoc.py', 'cam'),
    'rib': ('configs/rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py',
            'cam'),
    'ficklenet': ('configs/ficklenet/'
                  'ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py',
                  'ficklenet'),
}
COLUMNS = [('method', 'method'), ('miou', 'seed mIoU'),
           ('threshold', 'best thr'), ('precision', 'precision'),
           ('recall', 'recall'), ('sec_per_image', 's / image'),
           ('num_images', 'images')]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='SynthVOC root (VOC layout)')
    parser.add_argument('cam_checkpoint',
                        help='plain CAM classifier (CAM, AdvCAM, RIB)')
    parser.add_argument('ficklenet_checkpoint',
                        help='FickleNet classifier (FickleNet job)')
    parser.add_argument('--work-dir', default='work_dirs/refiner_compare')
    parser.add_argument(
        '--num-images', type=int,
        help='the first N train images (default: all)')
    parser.add_argument(
        '--methods', nargs='+', choices=list(METHODS), default=list(METHODS),
        help='methods to run and score, in this order')
    parser.add_argument(
        '--advcam-iters', type=int, default=27,
        help='AdvCAM steps T (model.adv_iter; the reference uses 27)')
    parser.add_argument(
        '--ficklenet-draws', type=int, default=32,
        help='FickleNet draws per image (model.num_draws)')
    parser.add_argument(
        '--python', default=sys.executable, help='interpreter for the tools')
    args = parser.parse_args(argv)
    if args.num_images is not None and args.num_images < 1:
        parser.error('--num-images must be positive')
    return args


def cam_dir(args, method):
    return osp.join(args.work_dir, 'cams', method)


def dataset_options(args):
    """cfg-options selecting the test images (shared by all methods)."""
    opts = [f'test_dataloader.dataset.data_root={args.data_root}']
    if args.num_images is not None:
        opts.append(f'test_dataloader.dataset.indices={args.num_images}')
    return opts


def job_command(args, method):
    """The ``tools/test.py`` command line of one method."""
    config, ckpt = METHODS[method]
    checkpoint = (args.cam_checkpoint
                  if ckpt == 'cam' else args.ficklenet_checkpoint)
    opts = dataset_options(args) + [
        f'test_evaluator.0.output_dir={cam_dir(args, method)}'
    ]
    if method == 'advcam':
        opts.append(f'model.adv_iter={args.advcam_iters}')
    elif method == 'rib':
        # RIB's auxiliary images come from the training set
        opts.append(f'model.rib_data.dataset.data_root={args.data_root}')
    elif method == 'ficklenet':
        opts.append(f'model.num_draws={args.ficklenet_draws}')
    return [
        args.python, 'tools/test.py', config, checkpoint, '--work-dir',
        osp.join(args.work_dir, 'runs', method), '--cfg-options', *opts
    ]


def build_dataset(args):
    """The selected test images (no pipeline) of the CAM config."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss  # noqa: F401  (registers the components)
    from mmwsss.registry import DATASETS

    cfg = Config.fromfile(osp.join(ROOT, METHODS['cam'][0]))
    init_default_scope(cfg.get('default_scope', 'mmwsss'))
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    dataset_cfg.data_root = args.data_root
    dataset_cfg.pipeline = []
    if args.num_images is not None:
        dataset_cfg.indices = args.num_images
    dataset = DATASETS.build(dataset_cfg)
    if args.num_images is not None and len(dataset) < args.num_images:
        sys.exit(f'only {len(dataset)} images under {args.data_root}')
    return dataset


def cam_file(folder, img_id):
    """The CAM file of image ``img_id`` in ``folder``."""
    from mmwsss.fileio import cam_path
    return cam_path(folder, dict(img_id=img_id))


def missing_ids(folder, ids):
    """The ids without a written CAM file in ``folder``."""
    return [i for i in ids if not osp.isfile(cam_file(folder, i))]


def written_span(folder, ids):
    """Seconds between the first and the last of the files of ``ids``."""
    times = [os.stat(cam_file(folder, i)).st_mtime for i in ids]
    return max(times) - min(times) if times else 0.0


def add_timing(timings, method, wall, images, span):
    """Accumulate one run: its wall time, the number of images it wrote and
    the seconds between its first and last written file."""
    entry = timings.setdefault(
        method, dict(wall_seconds=0.0, images=0, span=0.0, intervals=0))
    entry['wall_seconds'] += wall
    entry['images'] += images
    # the first file of a run marks the end of its start-up
    if images >= 2:
        entry['span'] += span
        entry['intervals'] += images - 1
    return timings


def seconds_per_image(timings, method):
    """Steady-state seconds per image, None before two files of a run."""
    entry = timings.get(method)
    if not entry or not entry['intervals']:
        return None
    return entry['span'] / entry['intervals']


def run_job(args, method, ids, timings_file, timings):
    """Run a method's job unless all its CAMs exist; record its timing."""
    folder = cam_dir(args, method)
    todo = missing_ids(folder, ids)
    before = len(todo)
    if not before:
        print(f'{method}: all {len(ids)} CAMs written, skipped', flush=True)
        return
    cmd = job_command(args, method)
    os.makedirs(osp.join(args.work_dir, 'runs'), exist_ok=True)
    log_file = osp.join(args.work_dir, 'runs', f'{method}.log')
    print(f'{method}: {before} CAMs to write\n$ ' + ' '.join(cmd), flush=True)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep +
               os.environ.get('PYTHONPATH', ''))
    t0 = time.time()
    with open(log_file, 'a') as log:
        code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    seconds = time.time() - t0
    left = set(missing_ids(folder, ids))
    new_ids = [i for i in todo if i not in left]
    add_timing(timings, method, seconds, len(new_ids),
               written_span(folder, new_ids))
    with open(timings_file, 'w') as f:
        json.dump(timings, f, indent=2)
    print(f'{method}: wrote {len(new_ids)} CAMs in {seconds:.0f} s',
          flush=True)
    if code != 0:
        sys.exit(f'{method}: tools/test.py failed (exit {code}), see '
                 f'{log_file}; rerun to resume')


def score(dataset, folder):
    """CAMSeedMetric report of the CAM files of ``dataset``'s images."""
    from mmwsss.evaluation import CAMSeedMetric

    # The sibling tool (tools/analysis is on the path of a script here).
    from eval_cam_seeds import load_seed_inputs, seed_sample

    load_seed_inputs(dataset, folder)
    metric = CAMSeedMetric()
    metric.dataset_meta = dataset.metainfo
    for index in range(len(dataset)):
        metric.process(None, [seed_sample(dataset, index, folder)])
    scores = metric.compute_metrics(metric.results)
    return dict(
        miou=scores['mIoU'],
        threshold=scores['threshold'],
        precision=scores['precision'],
        recall=scores['recall'],
        num_images=len(metric.results))


def format_table(rows):
    """Markdown table of the result rows (``None`` shown as ``-``)."""

    def cell(value):
        if value is None:
            return '-'
        if isinstance(value, float):
            return f'{value:.2f}'
        return str(value)

    lines = ['| ' + ' | '.join(title for _, title in COLUMNS) + ' |',
             '|' + '---|' * len(COLUMNS)]
    for row in rows:
        lines.append('| ' + ' | '.join(
            cell(row.get(key)) for key, _ in COLUMNS) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    dataset = build_dataset(args)
    ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    timings_file = osp.join(args.work_dir, 'timings.json')
    timings = {}
    if osp.isfile(timings_file):
        with open(timings_file) as f:
            timings = json.load(f)
    for method in args.methods:
        run_job(args, method, ids, timings_file, timings)
    rows = []
    for method in args.methods:
        row = dict(method=method, **score(dataset, cam_dir(args, method)))
        row['sec_per_image'] = seconds_per_image(timings, method)
        rows.append(row)
    table = format_table(rows)
    print(table)
    out_file = osp.join(args.work_dir, f'compare_{len(ids)}.json')
    with open(out_file, 'w') as f:
        json.dump(
            dict(data_root=args.data_root, image_ids=ids,
                 advcam_iters=args.advcam_iters,
                 ficklenet_draws=args.ficklenet_draws,
                 commands={m: job_command(args, m) for m in args.methods},
                 rows=rows, table=table), f, indent=2)
    print(f'saved {out_file}')


if __name__ == '__main__':
    main()
