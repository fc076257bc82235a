# Copyright (c) mmwsss contributors. All rights reserved.
"""What ``tools/train.py`` and ``tools/test.py`` share."""
import argparse
import gc
import logging
import os
import os.path as osp
import warnings
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import CheckpointLoader, Runner

from .checkpoint import load_state_dict_checked
from .config import FormatOnceConfig, type_name

if torch.distributed.is_available():
    # Its functions take the default process group as a default argument,
    # bound at import: imported once a group exists (as DDP does lazily), it
    # would keep that group, and gloo's threads, alive past
    # destroy_process_group. Import it while no group exists.
    import torch.distributed.nn.functional  # noqa: F401


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher``, the CPU
    settings (``--threads``, ``--workers``, ``--crf-workers``: see
    :func:`mmwsss.utils.threads.apply_thread_plan`) and ``--local-rank`` to
    a tool's parser."""
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, e.g. key=value or '
        'key="[a,b]"; nested keys are dotted, no spaces inside a value')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--threads',
        type=int,
        help='torch intra-op threads of each process (default: '
        'OMP_NUM_THREADS if set, else the cores of the process left by its '
        'dataloader workers; see mmwsss.utils.threads)')
    parser.add_argument(
        '--workers',
        type=int,
        help='dataloader workers of each process (default: the config\'s '
        'num_workers, capped at half the cores of the process when testing)')
    parser.add_argument(
        '--crf-workers',
        type=int,
        help='CRF worker processes of the IR/PSA label stages (default: the '
        'config\'s, capped at the cores of the process)')
    # torch.distributed.launch passes --local-rank, older versions
    # --local_rank; torchrun sets LOCAL_RANK itself.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


# Config files renamed to the naming scheme of ``configs/`` (one spelling per
# backbone, the CAM source as a suffix after the dataset): old -> new path,
# relative to the configs folder. Scripts of users still name the old files.
RENAMED_CONFIGS = {
    'irn/ir-label_cam-r18-os16_synthvoc.py':
    'irn/ir-label_r18w32-os16_synthvoc.py',
    'irn/ir-label_cam-r50-os16_voc12aug.py':
    'irn/ir-label_r50-os16_voc12aug.py',
    'irn/irnet-ins_r18_synthvoc.py':
    'irn/irnet-ins_r18w32_synthvoc.py',
    'irn/irnet-rw_r18_synthvoc.py':
    'irn/irnet-rw_r18w32_synthvoc.py',
    'irn/irnet_r18_1xb16-10e_synthvoc-128.py':
    'irn/irnet_r18w32_1xb16-10e_synthvoc-128.py',
    'advcam/ir-label_advcam-r18-os16_synthvoc.py':
    'advcam/ir-label_r18w32-os16_synthvoc-advcam.py',
    'advcam/ir-label_advcam-r50-os16_voc12aug.py':
    'advcam/ir-label_r50-os16_voc12aug-advcam.py',
    'advcam/irnet-rw_r18_synthvoc-advcam.py':
    'advcam/irnet-rw_r18w32_synthvoc-advcam.py',
    'advcam/irnet_r18_1xb16-10e_synthvoc-128-advcam.py':
    'advcam/irnet_r18w32_1xb16-10e_synthvoc-128-advcam.py',
    'ficklenet/ir-label_ficklenet-r18-os16_synthvoc.py':
    'ficklenet/ir-label_r18w32-os16_synthvoc-ficklenet.py',
    'ficklenet/irnet-rw_r18_synthvoc-ficklenet.py':
    'ficklenet/irnet-rw_r18w32_synthvoc-ficklenet.py',
    'ficklenet/irnet_r18_1xb16-10e_synthvoc-128-ficklenet.py':
    'ficklenet/irnet_r18w32_1xb16-10e_synthvoc-128-ficklenet.py',
    'rib/ir-label_rib-r18-os16_synthvoc.py':
    'rib/ir-label_r18w32-os16_synthvoc-rib.py',
    'rib/ir-label_rib-r50-os16_voc12aug.py':
    'rib/ir-label_r50-os16_voc12aug-rib.py',
    'rib/irnet-rw_r18_synthvoc-rib.py':
    'rib/irnet-rw_r18w32_synthvoc-rib.py',
    'rib/irnet_r18_1xb16-10e_synthvoc-128-rib.py':
    'rib/irnet_r18w32_1xb16-10e_synthvoc-128-rib.py',
    # MoANA's ILSVRC batch of 256, spread over 8 GPUs (stride 8 needs it)
    'moana/cam_r50-os8_1xb256-20e_in1k-224.py':
    'moana/cam_r50-os8_8xb32-20e_in1k-224.py',
    'moana/moana_r50-os8_1xb256-20e_in1k-224.py':
    'moana/moana_r50-os8_8xb32-20e_in1k-224.py',
}


def resolve_config_path(path: str) -> str:
    """Map the path of a renamed config file to its new name.

    A path that exists is returned as it is. A missing one whose last two
    parts (``<method>/<file>``) are an old name in :data:`RENAMED_CONFIGS`
    is resolved to the new file beside it, with a ``DeprecationWarning``
    naming both; any other path is returned unchanged, so that loading it
    fails as before.

    Args:
        path (str): The config path of the command line.

    Returns:
        str: The path to load.
    """
    if osp.exists(path):
        return path
    folder, name = osp.split(osp.normpath(path))
    configs_dir, method = osp.split(folder)
    new_name = RENAMED_CONFIGS.get(f'{method}/{name}')
    if new_name is None:
        return path
    new_path = osp.join(configs_dir, *new_name.split('/'))
    if not osp.isfile(new_path):
        return path
    message = (f'The config {path} was renamed to {new_path}; the old name '
               'is deprecated, use the new one.')
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    print_log(message, logger='current', level=logging.WARNING)
    return new_path


def load_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` and apply the common arguments.

    Work-dir priority: command line > config > ``./work_dirs/<config stem>``.
    The old path of a renamed config is resolved to the new one
    (:func:`resolve_config_path`; ``args.config`` is updated), whose stem
    names the default work dir.

    Args:
        args (argparse.Namespace): Parsed arguments with ``config``,
            ``work_dir``, ``cfg_options``, ``launcher`` and ``local_rank``.

    Returns:
        Config: The config.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    args.config = resolve_config_path(args.config)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        merge_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    resolve_work_dir_placeholders(cfg)
    return cfg


def is_path_variable(key: str) -> bool:
    """Whether a top-level config key names a folder that other paths of
    the config are derived from (``data_root``, ``ood_root``, ``cam_dir``,
    ``bbam_dir``...; not ``work_dir``, which the runner owns)."""
    return key != 'work_dir' and (key.endswith('_root')
                                  or key.endswith('_dir'))


def _map_strings(value, change: Callable[[str], Optional[str]]):
    """``value`` with every string ``s`` inside it (through dicts, lists
    and tuples) replaced by ``change(s)`` unless that is None; also the
    number of strings replaced."""
    if isinstance(value, str):
        new = change(value)
        return (value, 0) if new is None else (new, 1)
    if isinstance(value, dict):
        count = 0
        for key in list(value):
            value[key], changed = _map_strings(value[key], change)
            count += changed
        return value, count
    if isinstance(value, (list, tuple)):
        items = [_map_strings(item, change) for item in value]
        return type(value)(item for item, _ in items), sum(
            changed for _, changed in items)
    return value, 0


def _map_config_strings(cfg: Config, change: Callable[[str], Optional[str]],
                        skip: Sequence[str] = ()) -> int:
    """:func:`_map_strings` over the top-level entries of ``cfg`` (but
    ``skip``), in place; the number of strings replaced."""
    plain = cfg.to_dict()
    count = 0
    for key, value in plain.items():
        if key in skip:
            continue
        value, changed = _map_strings(value, change)
        if changed:
            cfg[key] = value
            count += changed
    return count


def rebase_paths(cfg: Config, old: str, new: str) -> int:
    """Move every path of ``cfg`` that lies under the folder ``old`` to the
    same place under ``new``.

    Values are compared as written (``data/VOCdevkit/`` and
    ``data/VOCdevkit`` are the same folder, ``data/VOCdevkit2`` is not under
    it).

    Args:
        cfg (Config): The config, changed in place.
        old (str): The folder a config was written for.
        new (str): Where it lies now.

    Returns:
        int: How many strings were changed.
    """
    old, new = old.rstrip('/'), new.rstrip('/')
    if not old or old == new:
        return 0

    def move(value: str) -> Optional[str]:
        if value.rstrip('/') == old or value.startswith(old + '/'):
            return new + value[len(old):]
        return None

    return _map_config_strings(cfg, move)


def merge_options(cfg: Config, options: dict) -> None:
    """Merge ``--cfg-options`` into ``cfg``; overriding a path variable
    moves every path derived from it.

    A config names its folders once, as top-level variables
    (:func:`is_path_variable`: ``data_root``, ``ood_root``, ``cam_dir``...),
    and derives the paths of its dataloaders, hooks and metrics from them.
    mmengine substitutes the variables when the file is read, so overriding
    ``data_root`` alone would change nothing else; here every string of the
    config that lay under the old folder is moved under the new one first
    (:func:`rebase_paths`), then the options are merged as usual, so that
    more specific options (``train_dataloader.dataset.data_root=...``)
    still win.

    Args:
        cfg (Config): The config, changed in place.
        options (dict): Parsed ``--cfg-options``.
    """
    for key, new in options.items():
        old = cfg.get(key)
        if (is_path_variable(key) and isinstance(old, str)
                and isinstance(new, str)):
            rebase_paths(cfg, old, new)
    cfg.merge_from_dict(options)


#: Written in a config path, stands for the run's work dir.
WORK_DIR_PLACEHOLDER = '{work_dir}'


def resolve_work_dir_placeholders(cfg: Config) -> int:
    """Replace :data:`WORK_DIR_PLACEHOLDER` in every string of ``cfg`` by
    ``cfg.work_dir``: ``output_dir='{work_dir}/cams'`` writes into the
    run's own work dir, wherever ``--work-dir`` puts it.

    Args:
        cfg (Config): The config with its final ``work_dir``.

    Returns:
        int: How many strings were changed.
    """
    work_dir = cfg.get('work_dir')
    if work_dir is None:
        return 0
    return _map_config_strings(
        cfg,
        lambda value: value.replace(WORK_DIR_PLACEHOLDER, work_dir)
        if WORK_DIR_PLACEHOLDER in value else None,
        skip=('work_dir', ))


def move_cam_dir_to_pipeline(cfg: dict) -> bool:
    """Honour a config's deprecated ``model.cam_dir`` through its pipeline.

    The configs of mmwsss load the CAMs with :class:`mmwsss.LoadCAMFile` in
    the test pipeline, from their own folder. A ``model.cam_dir`` set on top
    of them (an older config inheriting one, or ``--cfg-options
    model.cam_dir=DIR``) must still choose the folder: it is moved onto the
    pipeline's ``LoadCAMFile`` (with a ``DeprecationWarning`` naming the new
    key). Without a ``LoadCAMFile`` the model keeps ``cam_dir`` and reads
    the files itself.

    Args:
        cfg (dict): The whole config (``model``, ``test_dataloader``);
            changed in place.

    Returns:
        bool: Whether ``model.cam_dir`` was moved.
    """
    model = cfg.get('model') or {}
    cam_dir = model.get('cam_dir')
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset['dataset']
    pipeline = dataset.get('pipeline') or []
    positions = [
        i for i, step in enumerate(pipeline)
        if type_name(step) == 'LoadCAMFile'
    ]
    if cam_dir is None or not positions:
        return False
    for i in positions:
        pipeline[i]['cam_dir'] = cam_dir
    del model['cam_dir']
    message = (
        'model.cam_dir is deprecated: the CAM files are loaded by '
        "mmwsss.LoadCAMFile in the test pipeline; set test_dataloader."
        f'dataset.pipeline.{positions[0]}.cam_dir instead (done for you: '
        f'{cam_dir}).')
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    print_log(message, logger='current', level=logging.WARNING)
    return True


def init_cpu_distributed(cfg: Config) -> None:
    """Let ``--launcher pytorch`` run on machines without CUDA (gloo).

    mmengine 0.10.7 pins a CUDA device while initialising the process group
    and passes ``device_ids`` to DDP, which refuses them for CPU modules.
    Without CUDA the group is initialised here (the runner then skips its
    own initialisation) and a DDP wrapper without ``device_ids`` is set.

    Args:
        cfg (Config): The config, modified in place.
    """
    if cfg.launcher != 'pytorch' or torch.cuda.is_available():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    if dist_cfg.get('backend', 'nccl') != 'gloo':
        print_log(
            'No CUDA device: using the gloo backend.',
            logger='current',
            level=logging.WARNING)
    dist_cfg['backend'] = 'gloo'
    torch.distributed.init_process_group(**dist_cfg)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    if type_name(wrapper) == 'MMDistributedDataParallel':
        wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper


class CheckedLoadRunner(Runner):
    """mmengine's :class:`Runner` whose checkpoints must fit the model.

    ``load_from`` (also the checkpoint of ``tools/test.py``) and ``--resume``
    are loaded with :func:`mmwsss.utils.checkpoint.load_state_dict_checked`
    instead of mmengine's ``strict=False`` load, which only logs what does
    not fit: a resumed checkpoint must fit exactly, a ``load_from`` one too
    unless the config sets ``load_from_strict = False`` (a partial load on
    purpose, e.g. a detector checkpoint for a Mask R-CNN).
    """

    _resuming = False

    def resume(self, filename: str, *args, **kwargs) -> None:
        """Same as :meth:`Runner.resume`, with a checkpoint that must fit
        the model exactly."""
        self._resuming = True
        try:
            super().resume(filename, *args, **kwargs)
        finally:
            self._resuming = False

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: Optional[bool] = None,
                        revise_keys: Sequence[Tuple[str, str]] = ((r'^module.',
                                                                   ''), )):
        """Load a checkpoint into the model; fail if it does not fit.

        Args:
            filename (str): Local path, URL or ``scheme://`` name.
            map_location (str | Callable): Same as :func:`torch.load`.
                Defaults to ``'cpu'``.
            strict (bool, optional): Whether the weights must fit exactly
                (see :func:`load_state_dict_checked`). Defaults to True when
                resuming, else to the config's ``load_from_strict`` (True if
                absent).
            revise_keys (Sequence[tuple[str, str]]): Regex substitutions of
                the checkpoint's keys. Defaults to removing ``module.``.

        Returns:
            dict: The checkpoint.
        """
        if strict is None:
            strict = self._resuming or self.cfg.get('load_from_strict', True)
        checkpoint = CheckpointLoader.load_checkpoint(
            filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        load_state_dict_checked(
            model, checkpoint, filename, strict=strict,
            revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint


def _num_classes_settings(value, path: str, found: list) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == 'num_classes' and isinstance(item, int):
                found.append((f'{path}.{key}', item))
            else:
                _num_classes_settings(item, f'{path}.{key}', found)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _num_classes_settings(item, f'{path}.{i}', found)


def check_num_classes(cfg: Config) -> None:
    """Refuse a config whose model and metrics count different classes.

    Every integer ``num_classes`` under ``model`` (head, data preprocessor,
    walk...) and the evaluators must be equal: one changed alone (e.g.
    ``--cfg-options model.head.num_classes=5``) otherwise runs and scores
    or writes labels of the wrong classes, or fails deep inside a loss. The
    dataloaders' settings are bounds on the labels and CAM keys read
    (``LoadLabelMap``, ``LoadCAMFile``), checked per file against the data.

    Args:
        cfg (Config): The job's config.

    Raises:
        ValueError: Naming each setting and its value.
    """
    found = []
    for section in ('model', 'val_evaluator', 'test_evaluator'):
        _num_classes_settings(cfg.get(section), section, found)
    if len({value for _, value in found}) > 1:
        listed = ', '.join(f'{key}={value}' for key, value in found)
        raise ValueError(f'The num_classes settings of the config disagree: '
                         f'{listed}. Set them all to the number of classes '
                         'of the dataset.')


def build_runner(cfg: Config) -> Runner:
    """Check the config's ``num_classes`` settings
    (:func:`check_num_classes`), set up CPU distribution if needed and
    build the runner: a :class:`CheckedLoadRunner`, or ``RUNNERS.build``
    when the config sets ``runner_type`` (whose runner loads checkpoints
    its own way). The runner's config formats its text once
    (:class:`FormatOnceConfig`)."""
    check_num_classes(cfg)
    init_cpu_distributed(cfg)
    cfg = FormatOnceConfig.of(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return CheckedLoadRunner.from_cfg(cfg)


def live_gloo_threads() -> List[str]:
    """Names of this process's gloo threads (empty where ``/proc`` is not
    available).

    Returns:
        list[str]: e.g. ``['gloo_tcp_loop', 'pt_gloo_runloop', ...]``.
    """
    task_dir = '/proc/self/task'
    if not osp.isdir(task_dir):
        return []
    names = []
    for task in os.listdir(task_dir):
        try:
            with open(osp.join(task_dir, task, 'comm')) as f:
                names.append(f.read().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return sorted(name for name in names if 'gloo' in name)


def shutdown_distributed(runner: Optional[Runner] = None) -> None:
    """Tear the process groups down before the tool's interpreter exits.

    gloo releases each finished collective in one of its worker threads;
    dropping the last reference to a tensor that has a Python object takes
    the GIL. If that happens while the main thread finalises the
    interpreter, Python ends the worker with ``pthread_exit`` inside a
    ``noexcept`` destructor and the process aborts with "terminate called
    without an active exception" (SIGABRT) after all its work is done -
    randomly, more often on a loaded machine, and a failed job for
    ``torch.distributed.run``. Destroying the group joins those workers
    while the interpreter is still alive, but only once nothing else holds
    the group: the runner's DDP wrapper (its reducer) does, so the wrapper
    is dropped first.

    Args:
        runner (Runner, optional): The runner whose model wrapper is
            dropped (its ``model`` becomes the wrapped module). Defaults to
            None.
    """
    if not (torch.distributed.is_available()
            and torch.distributed.is_initialized()):
        return
    # No rank closes its connections while a peer is still in a collective.
    torch.distributed.barrier()
    if runner is not None and is_model_wrapper(runner.model):
        runner.model = runner.model.module
    # Free the wrapper now, even if it sits in reference cycles.
    gc.collect()
    torch.distributed.destroy_process_group()
    if torch.distributed.is_gloo_available() and live_gloo_threads():
        print_log(
            'gloo threads outlive destroy_process_group (something still '
            'holds the process group); the process may abort at exit.',
            logger='current',
            level=logging.WARNING)
