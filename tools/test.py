# Copyright (c) mmwsss contributors. All rights reserved.
"""Test a checkpoint with an mmpretrain, mmseg, mmdet or mmwsss config.

The config's ``default_scope`` selects the host codebase and with it how
``--out`` and ``--tta`` behave:

* ``--out``: for mmseg, the file is a directory and the test evaluator writes
  each prediction there as a PNG (``output_dir`` of mmseg's metrics); for
  every other codebase the predictions are dumped to a ``.pkl`` file with
  mmengine's ``DumpResults``.
* ``--tta``: uses ``tta_model``/``tta_pipeline`` of the config; mmpretrain and
  mmdet configs without them get a horizontal-flip TTA.
"""
import os

# Before torch loads OpenMP, which reads them once: a waiting OpenMP thread
# spins only briefly, then sleeps, so that a process whose threads meet busy
# cores (other ranks, workers, other jobs) does not slow down many times
# (mmwsss.utils.threads).
if 'OMP_WAIT_POLICY' not in os.environ:
    os.environ.setdefault('GOMP_SPINCOUNT', '10000')  # GNU OpenMP (pip torch)
    os.environ.setdefault('KMP_BLOCKTIME', '0')  # Intel / LLVM OpenMP

import argparse  # noqa: E402
import sys  # noqa: E402
from copy import deepcopy  # noqa: E402

from mmengine.config import Config  # noqa: E402
from mmengine.evaluator import DumpResults  # noqa: E402
from mmengine.hooks import LoggerHook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402

import mmwsss  # noqa: E402,F401
from mmwsss.engine.runner import ItemsFailedError  # noqa: E402
from mmwsss.evaluation.writers import StaleOutputError  # noqa: E402
from mmwsss.fileio import NameCollisionError, UnsafeNameError  # noqa: E402
from mmwsss.utils.config import type_name  # noqa: E402
from mmwsss.utils.launch import (  # noqa: E402
    add_common_args, build_runner, load_config, move_cam_dir_to_pipeline,
    shutdown_distributed)
from mmwsss.utils.threads import (  # noqa: E402
    add_channels_last_hook, apply_thread_plan)

# TTA models of the hosts that can be synthesised when a config has none.
DEFAULT_TTA_MODELS = {
    'mmpretrain':
    dict(type='AverageClsScoreTTA'),
    'mmdet':
    dict(
        type='DetTTAModel',
        tta_cfg=dict(
            nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)),
}


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out',
        help='dump the predictions: a .pkl file (mmpretrain, mmdet, mmwsss) '
        'or, for mmseg configs, a directory of PNG label maps')
    parser.add_argument(
        '--show-dir',
        help='directory where the drawings of every image are saved '
        '(mmwsss.WSSSVisualizer: CAMs, seeds, labels, instances, BBAM, WSOL '
        'boxes and ground truth side by side)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each shown image stays on screen')
    parser.add_argument(
        '--tta', action='store_true', help='enable test-time augmentation')
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='let the writers delete the outputs of another run (another '
        'config, checkpoint or input) found in their folders; without it '
        'such folders are refused. Outputs of this same run are resumed '
        'either way (needs mmwsss.ResumableTestLoop)')
    parser.add_argument(
        '--allow-failures',
        action='store_true',
        help='exit 0 when some items failed (they are listed in the '
        "writers' manifests); without it such a job exits 1 (needs "
        'mmwsss.ResumableTestLoop)')
    add_common_args(parser)
    return parser.parse_args()


def _hook_class(hook_cfg: dict, default_scope: str) -> type:
    """The hook class a config describes.

    Args:
        hook_cfg (dict): The hook config.
        default_scope (str): The config's default scope.

    Returns:
        type: The hook class.
    """
    hook_type = hook_cfg['type']
    if not isinstance(hook_type, str):
        return hook_type
    scope = hook_cfg.get('_scope_', default_scope)
    with HOOKS.switch_scope_and_registry(scope) as registry:
        hook_cls = registry.get(hook_type)
    if hook_cls is None:
        raise KeyError(f'{hook_type} is not registered in the hook '
                       f'registry of scope {scope!r}.')
    return hook_cls


def enable_visualization(cfg: Config, args: argparse.Namespace) -> None:
    """Draw every test image with :class:`mmwsss.WSSSVisualizer` for
    ``--show``/``--show-dir``, whatever the stage and host.

    The hosts' own visualization hooks are turned off: each calls its host's
    visualizer with its own arguments, while
    :class:`mmwsss.WSSSVisualizationHook` draws CAMs, seeds, IR labels,
    pseudo-masks, instances, BBAM maps and WSOL boxes alike.

    Args:
        cfg (Config): The config, modified in place.
        args (argparse.Namespace): The parsed command line.
    """
    cfg.visualizer = dict(
        type='mmwsss.WSSSVisualizer',
        name='wsss_visualizer',
        vis_backends=[dict(type='LocalVisBackend')])
    cfg.get('default_hooks', {}).pop('visualization', None)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(
            type='mmwsss.WSSSVisualizationHook',
            out_dir=args.show_dir,
            show=args.show,
            wait_time=args.wait_time)
    ]


def _innermost_dataset(dataloader_cfg: dict) -> dict:
    """Return the dataset config below any dataset wrappers.

    Args:
        dataloader_cfg (dict): A dataloader config.

    Returns:
        dict: The innermost ``dataset`` config (the one with the pipeline).
    """
    dataset = dataloader_cfg['dataset']
    while 'dataset' in dataset:
        dataset = dataset['dataset']
    return dataset


def _flip_tta_pipeline(test_pipeline: list, codebase: str) -> list:
    """Build a horizontal-flip TTA pipeline from a test pipeline.

    Args:
        test_pipeline (list[dict]): The test pipeline; its last step packs
            the inputs.
        codebase (str): ``'mmpretrain'`` or ``'mmdet'``.

    Returns:
        list[dict]: The TTA pipeline.
    """
    pack = deepcopy(test_pipeline[-1])
    # DetTTAModel un-flips boxes with these meta keys.
    if codebase == 'mmdet' and 'meta_keys' in pack:
        pack['meta_keys'] = tuple(pack['meta_keys']) + tuple(
            key for key in ('flip', 'flip_direction')
            if key not in pack['meta_keys'])
    flips = [
        dict(type='RandomFlip', prob=1.),
        dict(type='RandomFlip', prob=0.)
    ]
    return list(test_pipeline[:-1]) + [
        dict(type='TestTimeAug', transforms=[flips, [pack]])
    ]


def enable_tta(cfg: Config, codebase: str) -> None:
    """Wrap the model into the TTA model and use the TTA pipeline.

    Args:
        cfg (Config): The config, modified in place.
        codebase (str): The config's default scope.

    Raises:
        RuntimeError: If the config lacks ``tta_model``/``tta_pipeline`` and
            the codebase has no default flip TTA.
    """
    dataset = _innermost_dataset(cfg.test_dataloader)
    missing = [key for key in ('tta_model', 'tta_pipeline') if key not in cfg]
    if missing and codebase not in DEFAULT_TTA_MODELS:
        raise RuntimeError(f'--tta needs {" and ".join(missing)} in a config '
                           f'with default_scope={codebase!r}.')
    if 'tta_model' not in cfg:
        cfg.tta_model = deepcopy(DEFAULT_TTA_MODELS[codebase])
    if 'tta_pipeline' not in cfg:
        cfg.tta_pipeline = _flip_tta_pipeline(dataset['pipeline'], codebase)
    dataset['pipeline'] = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def set_seg_output_dir(cfg: Config, out_dir: str) -> None:
    """Make mmseg's metrics write each prediction as a PNG to ``out_dir``.

    Our evaluators (``mmwsss.`` types, e.g. a ``mmwsss.LabelMapWriter`` next
    to ``IoUMetric``) keep their own settings.

    Args:
        cfg (Config): The config, modified in place.
        out_dir (str): The output directory.
    """
    evaluators = cfg.test_evaluator
    if isinstance(evaluators, dict):
        evaluators = [evaluators]
    for evaluator in evaluators:
        if str(evaluator.get('type', '')).startswith('mmwsss.'):
            continue
        evaluator['output_dir'] = out_dir
        evaluator['keep_results'] = True


def use_dist_safe_logger(cfg: Config) -> None:
    """Swap the stock LoggerHook for :class:`mmwsss.DistSafeLoggerHook`.

    Every rank of a distributed test writes mmengine's test-metric JSON
    into the same file; the swapped-in hook writes it from rank 0 only.

    Args:
        cfg (Config): The config, modified in place.
    """
    hook = cfg.get('default_hooks', {}).get('logger')
    if hook and _hook_class(hook, cfg.get('default_scope')) is LoggerHook:
        hook['type'] = 'mmwsss.DistSafeLoggerHook'
        hook.pop('_scope_', None)


def set_loop_option(cfg: Config, option: str) -> None:
    """Switch on an option of :class:`mmwsss.ResumableTestLoop`.

    Args:
        cfg (Config): The config, modified in place.
        option (str): ``'overwrite'`` or ``'allow_failures'``.

    Raises:
        RuntimeError: If the config's test loop is another one.
    """
    test_cfg = cfg.get('test_cfg') or {}
    if type_name(test_cfg) != 'ResumableTestLoop':
        flag = '--' + option.replace('_', '-')
        raise RuntimeError(
            f'{flag} needs test_cfg = dict(type=\'mmwsss.ResumableTestLoop\')'
            f', got {test_cfg.get("type")!r}.')
    test_cfg[option] = True


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the test options of the command line to the config.

    Args:
        cfg (Config): The config from :func:`load_config`.
        args (argparse.Namespace): The parsed command line.

    Returns:
        Config: The updated config.
    """
    cfg.load_from = args.checkpoint
    codebase = cfg.get('default_scope')
    # Older configs and command lines set the CAM folder on the model.
    move_cam_dir_to_pipeline(cfg)
    if args.show or args.show_dir:
        enable_visualization(cfg, args)
    if args.tta:
        enable_tta(cfg, codebase)
    if args.out is not None and codebase == 'mmseg':
        set_seg_output_dir(cfg, args.out)
    if cfg.launcher != 'none':
        use_dist_safe_logger(cfg)
    for flag in ('overwrite', 'allow_failures'):
        if getattr(args, flag, False):
            set_loop_option(cfg, flag)
    return cfg


def main() -> None:
    """Entry point."""
    args = parse_args()
    cfg = merge_args(load_config(args), args)
    apply_thread_plan(
        cfg, args.threads, args.workers, args.crf_workers,
        keep_workers=False)
    add_channels_last_hook(cfg)
    runner = build_runner(cfg)
    if args.out is not None and cfg.get('default_scope') != 'mmseg':
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    try:
        runner.test()
    except (ItemsFailedError, StaleOutputError, UnsafeNameError,
            NameCollisionError) as error:
        # Raised on every rank alike (the failures are gathered, the folders
        # and names checked alike), so all ranks still meet in the
        # shutdown's barrier.
        runner.logger.error(f'{type(error).__name__}: {error}')
        shutdown_distributed(runner)
        sys.exit(1)
    shutdown_distributed(runner)


if __name__ == '__main__':
    main()
