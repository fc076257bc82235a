# Copyright (c) mmwsss contributors. All rights reserved.
"""How many CPU threads and processes each process of a job uses.

PyTorch starts as many intra-op threads as the machine has cores in every
process, whatever else runs: the dataloader workers, the CRF workers of the
label stages and the other ranks of the node then compete for the same
cores. OpenMP threads spin while they wait for each other, so an
oversubscribed stage is not a little slower but many times slower (the
random walk of a SynthVOC image: 0.48 s with one thread, 8.6 s with two on a
busy 2-core machine). Unless the user chose a wait policy, the tools set
``GOMP_SPINCOUNT=10000`` (and ``KMP_BLOCKTIME=0`` for Intel/LLVM OpenMP)
before torch loads: a waiting thread spins briefly, then sleeps. Measured on
2 cores, idle, in alternated runs against ``OMP_WAIT_POLICY=PASSIVE`` (no
spinning): CAM inference 13 % and CAM training 9 % faster (the whole demo
pipeline did not show it beyond run-to-run variation); with six busy
processes on the same cores, the random walk above took 1.2-2.0 s against
1.0-1.3 s passive and 31-35 s with libgomp's default spin.
:func:`plan_threads`
splits the cores a process may use between its threads and helpers, and
:func:`apply_thread_plan` applies the plan to a tool's config.
"""
import dataclasses
import logging
import os
from typing import Iterator, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .config import type_name


@dataclasses.dataclass(frozen=True)
class ThreadPlan:
    """What one process of a job uses.

    Attributes:
        threads (int): Intra-op threads of torch (``torch.set_num_threads``).
        workers (int): Workers of each dataloader.
        crf_workers (int): Worker processes of the CPU label stages (the
            CRFs of IR labels and PSA labels).
    """
    threads: int
    workers: int
    crf_workers: int


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which ``taskset``,
    cgroups cpusets and Slurm restrict), else ``os.cpu_count()``."""
    if hasattr(os, 'sched_getaffinity'):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def processes_per_node() -> int:
    """Processes the launcher started on this node: ``LOCAL_WORLD_SIZE``
    (torchrun), ``SLURM_NTASKS_PER_NODE`` (srun), else 1."""
    for name in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        value = os.environ.get(name, '')
        # Slurm writes heterogeneous layouts as e.g. "2(x3)".
        value = value.split('(')[0]
        if value.isdigit() and int(value) > 0:
            return int(value)
    return 1


def plan_threads(cores: int,
                 processes: int = 1,
                 workers: Optional[int] = None,
                 crf_workers: Optional[int] = None,
                 threads: Optional[int] = None,
                 keep_workers: bool = False,
                 spinning: bool = False) -> ThreadPlan:
    """Split the cores of a node between the processes of a job and, in each
    process, between torch's threads and its worker processes.

    Each process gets ``cores // processes`` cores (at least one). Its
    dataloader workers get at most as many as it has cores (none with one
    core). On 2 idle cores, measured over the SynthVOC test stages with
    2 torch threads and NCHW models (``benchmarks/stages.py --rounds 2``),
    2 workers were within 10 % of the best setting for every stage, 0
    workers 13-20 % behind for the CAM stages, whose multi-scale pipelines
    a single worker cannot feed, and one worker slower than none in 16 of
    18 alternated runs (``--rounds 3``); with the channels-last models of
    the test jobs the better place depends on the images, so test jobs on
    few cores try both (:func:`tries_main_process_test_loading`). Torch's
    threads get all of
    them: the workers sleep once their prefetched batches wait, and idle
    OpenMP threads sleep too after a short spin (the tools' default, see the
    module's docstring). With long ``spinning`` waits an OpenMP thread
    that shares its core with a busy process stalls all the others (2
    threads measured 10-60x slower than 1 on a busy 2-core machine), so the
    workers get at most half of the cores and the threads only the cores
    the workers leave. The CRF workers run while
    the process waits for their labels, so they may use all of the
    process's cores. Training keeps the config's workers
    (``keep_workers``): the random augmentations of each worker are seeded
    by its index, so their number is part of the results (see
    :func:`apply_thread_plan` for when training loads without them).

    Args:
        cores (int): Cores of the node this job may use.
        processes (int): Processes of the job on this node. Defaults to 1.
        workers (int, optional): Dataloader workers the config asks for, an
            upper bound; None takes the bound alone. Defaults to None.
        crf_workers (int, optional): CRF workers the config asks for, an
            upper bound; None takes the bound alone. Defaults to None.
        threads (int, optional): Torch threads fixed by the user (flag or
            ``OMP_NUM_THREADS``); the workers still get their share.
            Defaults to None.
        keep_workers (bool): Keep ``workers`` as given (not capped).
            Defaults to False.
        spinning (bool): OpenMP threads spin long while they wait (see
            :func:`omp_spinning`): leave the workers their own cores.
            Defaults to False.

    Returns:
        ThreadPlan: The settings of each process.
    """
    if cores < 1 or processes < 1:
        raise ValueError(f'need cores >= 1 and processes >= 1, got {cores} '
                         f'and {processes}')
    share = max(1, cores // processes)
    # One core: everything in the main process (a pool of one CRF process
    # would cost a fork per batch and gain nothing).
    max_helpers = share if share > 1 else 0
    # Long-spinning OpenMP threads need the workers off their cores.
    max_workers = share // 2 if spinning else max_helpers
    if workers is None:
        workers = max_workers
    elif not keep_workers:
        workers = min(workers, max_workers)
    crf_workers = max_helpers if crf_workers is None else min(
        crf_workers, max_helpers)
    if threads is None:
        threads = max(1, share - workers) if spinning else share
    return ThreadPlan(
        threads=threads, workers=workers, crf_workers=crf_workers)


#: Model types whose ``num_workers`` is a pool of CRF processes.
CRF_POOL_MODELS = ('IRLabelGenerator', 'PSALabelGenerator',
                   'CAMLabelGenerator', 'BBAM')


def _dataloaders(cfg: Config) -> Iterator[Tuple[str, dict]]:
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if isinstance(loader, dict) and 'num_workers' in loader:
            yield key, loader


def _crf_model(cfg: Config) -> Optional[dict]:
    model = cfg.get('model')
    return model if type_name(model) in CRF_POOL_MODELS else None


#: The longest ``GOMP_SPINCOUNT`` taken as a short spin (the tools' 10000).
SHORT_SPIN = 10000


def _spin_count(text: str) -> Optional[float]:
    """libgomp's ``GOMP_SPINCOUNT``: a number with an optional k/M/G/T
    suffix, or ``infinite``; None if unreadable."""
    text = text.strip().lower()
    if text in ('infinite', 'infinity'):
        return float('inf')
    scale = dict(k=1e3, m=1e6, g=1e9, t=1e12).get(text[-1:], 1)
    digits = text[:-1] if scale != 1 else text
    return float(digits) * scale if digits.isdigit() else None


def omp_spinning() -> bool:
    """Whether idle OpenMP threads of this process spin long: any explicit
    ``OMP_WAIT_POLICY`` but ``PASSIVE``, else libgomp's spin count above
    :data:`SHORT_SPIN` (its default is 300000)."""
    policy = os.environ.get('OMP_WAIT_POLICY', '').strip().upper()
    if policy:
        return policy != 'PASSIVE'
    count = _spin_count(os.environ.get('GOMP_SPINCOUNT', ''))
    return count is None or count > SHORT_SPIN


def explicit_threads(flag: Optional[int] = None) -> Optional[int]:
    """Torch threads the user chose: the flag, else ``OMP_NUM_THREADS`` when
    it is set (a positive integer), else None."""
    if flag is not None:
        return flag
    value = os.environ.get('OMP_NUM_THREADS', '')
    return int(value) if value.isdigit() and int(value) > 0 else None


#: The most cores per process at which CPU training tries loading its batches
#: in the main process (measured on 2 cores).
MAIN_PROCESS_LOADING_CORES = 2


def _by_epoch(train_cfg: dict) -> Optional[bool]:
    """Whether mmengine builds an epoch loop from ``train_cfg``, False for
    an iteration loop, None for another loop."""
    loop = type_name(train_cfg)
    if loop in ('EpochBasedTrainLoop', 'IterBasedTrainLoop'):
        return loop == 'EpochBasedTrainLoop'
    if not loop and 'by_epoch' in train_cfg:
        return bool(train_cfg['by_epoch'])
    return None


def stream_following_hook(cfg: Config) -> Optional[dict]:
    """The config's ``ReproducibleResumeHook`` where it can follow the
    random streams of the training loader's workers without them (an
    epoch-based loop, see :class:`mmwsss.engine.hooks.WorkerStreamLoader`,
    or an iteration-based one with an ``InfiniteSampler``, see
    :class:`mmwsss.engine.hooks.WorkerStreamIterator`), else None."""
    train_cfg = cfg.get('train_cfg')
    if not isinstance(train_cfg, dict):
        return None
    by_epoch = _by_epoch(train_cfg)
    loader = cfg.get('train_dataloader') or {}
    if by_epoch is None or not by_epoch and type_name(
            loader.get('sampler')) != 'InfiniteSampler':
        return None
    hooks = list((cfg.get('default_hooks') or {}).values())
    hooks += list(cfg.get('custom_hooks') or [])
    return next((hook for hook in hooks
                 if type_name(hook) == 'ReproducibleResumeHook'), None)


def tries_main_process_loading(cfg: Config, cores: int) -> bool:
    """Whether a training process with ``cores`` cores should try loading
    its batches in the main process (``ReproducibleResumeHook``'s
    ``loading='fastest'``: the same batches, a timed trial each way).

    On a CPU with few cores the workers' augmentations take cores from
    torch's threads, and on short epochs their start each epoch (to reseed
    them) weighs: on 2 idle cores an epoch of the SynthVOC CAM config (18
    iterations) took 0.144 s per iteration in the main process against
    0.162 s with its 2 workers; 4 epochs 18.7 s against 20.7 s. With large
    images to decode and little compute the workers win (the same config on
    375-500 px images: 70 against 52 images/s), hence the trial. In an
    iteration loop, where the workers start once, the demo's DeepLab
    training (300 iterations) took a median 71 s with the trial (mostly
    keeping the main process) against 78 s with its 2 workers (4 alternated
    rounds, 2026-12-07).
    Only where the config's ``ReproducibleResumeHook`` can keep the
    workers' random streams (:func:`stream_following_hook`); not with a
    GPU, whose steps leave the CPU to the workers.
    """
    loader = cfg.get('train_dataloader')
    return (isinstance(loader, dict) and loader.get('num_workers', 0) > 0
            and cores <= MAIN_PROCESS_LOADING_CORES
            and not torch.cuda.is_available()
            and stream_following_hook(cfg) is not None)


def tries_main_process_test_loading(cfg: Config, cores: int) -> bool:
    """Whether a test job with ``cores`` cores per process should try
    loading its batches in the main process
    (:class:`mmwsss.ResumableTestLoop`'s ``loading='fastest'``: the same
    outputs, a timed trial of each place).

    With the channels-last models of the test jobs, on 2 idle cores with 2
    torch threads (``benchmarks/stages.py``, 8 and 6 images, 2026-12-07),
    the CAM stages ran 6-19 % faster without loader workers at SynthVOC
    size and 6-13 % at VOC size, the random walk 15 % faster without them
    at SynthVOC size but the walks 6-11 % faster with them at VOC size:
    the better place depends on the model and the images, hence the
    trial. Only for the mmwsss test loop, where the config's test loader
    has workers; not with a GPU, whose steps leave the CPU to the workers.
    """
    loader = cfg.get('test_dataloader')
    return (isinstance(loader, dict) and loader.get('num_workers', 0) > 0
            and type_name(cfg.get('test_cfg')) == 'ResumableTestLoop'
            and cores <= MAIN_PROCESS_LOADING_CORES
            and not torch.cuda.is_available())


def add_channels_last_hook(cfg: Config,
                           channels_last: Optional[bool] = None) -> bool:
    """Add :class:`mmwsss.engine.hooks.ChannelsLastHook` to the config's
    ``custom_hooks`` where the job runs on the CPU and channels-last is
    asked for: by ``channels_last``, else by the config's
    ``cpu_cfg.channels_last`` (configs whose operators honour strides opt
    in; see the hook for why it is not applied to every model). On a GPU
    the config runs as written (unmeasured there).

    ``tools/test.py`` calls it: test jobs give the same outputs to float
    rounding. Training runs as written: over many steps the rounding
    differences grow into another training run (the demo's DeepLab val mIoU
    45.16 NCHW against 53.60 with every stage channels-last, the CAM seeds
    50.28 against 49.19), so the documented figures would no longer
    reproduce, and the demo's training stages were not measurably faster;
    a config that wants it in training adds the hook to ``custom_hooks``.

    Args:
        cfg (Config): The tool's config, changed in place.
        channels_last (bool, optional): Overrides the config's choice.
            Defaults to None.

    Returns:
        bool: Whether the model runs channels-last.
    """
    if channels_last is None:
        channels_last = bool((cfg.get('cpu_cfg') or {}).get(
            'channels_last', False))
    if not channels_last or torch.cuda.is_available():
        return False
    hooks = cfg.get('custom_hooks') or []
    if not any(type_name(hook) == 'ChannelsLastHook' for hook in hooks):
        cfg.custom_hooks = list(hooks) + [
            dict(type='mmwsss.ChannelsLastHook')
        ]
    return True


def _set_workers(loader: dict, workers: int) -> None:
    loader['num_workers'] = workers
    if workers == 0:  # the DataLoader refuses these without workers
        loader['persistent_workers'] = False
        loader.pop('prefetch_factor', None)


def apply_thread_plan(cfg: Config,
                      threads: Optional[int] = None,
                      workers: Optional[int] = None,
                      crf_workers: Optional[int] = None,
                      keep_workers: bool = False) -> ThreadPlan:
    """Choose and apply the thread plan of a tool's process.

    Precedence, for each setting: the tool's flag, then the config's
    ``cpu_cfg`` (``dict(threads=, workers=, crf_workers=)``, exact values),
    then :func:`plan_threads` from the cores of this process, the processes
    of the node and the config's ``num_workers`` as upper bounds.
    ``OMP_NUM_THREADS``, when set, fixes the threads like the flag.
    ``cpu_cfg = dict(auto=False)`` keeps the config's ``num_workers`` and
    torch's threads but for what is fixed. (``cpu_cfg.channels_last`` is
    read by :func:`add_channels_last_hook`, for test jobs.)

    Sets ``torch.set_num_threads`` and, in place, the ``num_workers`` of the
    dataloaders and of a CRF-pool model (:data:`CRF_POOL_MODELS`).

    Training (``keep_workers``) keeps the config's workers; where
    :func:`tries_main_process_loading` (and workers are not fixed), the
    config's ``ReproducibleResumeHook`` gets ``loading='fastest'``. An
    iteration loop the hook can follow (an ``InfiniteSampler``) always
    loads through the hook's own loaders: its loader gets no workers, the
    hook ``stream_workers``, the config's count, and ``loading='workers'``
    unless the trial or the config says otherwise (mmengine starts a
    loader's workers, which draw sample indices, before a resumed run's
    seed is known, so a run resumed without a fixed ``randomness.seed``
    would not continue the uninterrupted run's streams), also where
    ``workers`` or ``cpu_cfg`` sets another count (then the hook's
    ``stream_workers``, logged as other streams than the config's); test
    jobs where :func:`tries_main_process_test_loading` (and workers are
    not fixed), their ``test_cfg`` too. Where
    the training loader's workers change, the hook gets ``stream_workers``,
    the config's count, so that a loader without workers trains as the
    config's would.

    Args:
        cfg (Config): The tool's config, changed in place.
        threads (int, optional): ``--threads``. Defaults to None.
        workers (int, optional): ``--workers``. Defaults to None.
        crf_workers (int, optional): ``--crf-workers``. Defaults to None.
        keep_workers (bool): Keep the config's dataloader workers (training:
            see :func:`plan_threads`). Defaults to False.

    Returns:
        ThreadPlan: What was applied (the largest dataloader's workers).
    """
    cpu_cfg = dict(cfg.get('cpu_cfg') or {})
    auto = cpu_cfg.pop('auto', True)
    unknown = set(cpu_cfg) - {
        'threads', 'workers', 'crf_workers', 'channels_last'
    }
    if unknown:
        raise ValueError(f'unknown cpu_cfg keys {sorted(unknown)}')
    named_loaders = dict(_dataloaders(cfg))
    loaders = list(named_loaders.values())
    train_loader = named_loaders.get('train_dataloader')
    config_train_workers = None if train_loader is None else train_loader[
        'num_workers']
    crf_model = _crf_model(cfg)
    threads = explicit_threads(
        threads if threads is not None else cpu_cfg.get('threads'))
    if workers is None:
        workers = cpu_cfg.get('workers')
    if crf_workers is None:
        crf_workers = cpu_cfg.get('crf_workers')
    if auto:
        plan = plan_threads(
            available_cores(),
            processes_per_node(),
            workers=max(loader['num_workers'] for loader in loaders)
            if loaders else None,
            crf_workers=None if crf_model is None else crf_model.get(
                'num_workers', 0),
            threads=threads,
            keep_workers=keep_workers,
            spinning=omp_spinning())
        # Each loader keeps at most what its config asked for.
        loader_workers = [
            min(loader['num_workers'], plan.workers) for loader in loaders
        ]
        threads, crf_plan = plan.threads, plan.crf_workers
    else:
        loader_workers = [loader['num_workers'] for loader in loaders]
        threads = threads or torch.get_num_threads()
        crf_plan = None if crf_model is None else crf_model.get(
            'num_workers', 0)
    if workers is not None:
        loader_workers = [workers] * len(loaders)
    if crf_workers is None:
        crf_workers = crf_plan
    torch.set_num_threads(threads)
    for loader, num in zip(loaders, loader_workers):
        _set_workers(loader, num)
    if crf_model is not None:
        crf_model['num_workers'] = crf_workers
    cores_per_process = max(1, available_cores() // processes_per_node())
    if (auto and not keep_workers and workers is None
            and tries_main_process_test_loading(cfg, cores_per_process)):
        cfg.test_cfg.setdefault('loading', 'fastest')
    hook = stream_following_hook(cfg)
    training = ''
    if hook is not None and config_train_workers:
        train_workers = train_loader['num_workers']
        if keep_workers and train_workers and \
                train_workers != config_train_workers and \
                not _by_epoch(cfg.train_cfg):
            # Another count of workers for an iteration loop: the hook's
            # own (see below), whose streams are not the config's.
            print_log(
                f'Training with {train_workers} loader workers: the random '
                f'augmentations differ from those of the config\'s '
                f'{config_train_workers} workers.',
                logger='current',
                level=logging.WARNING)
            hook.setdefault('loading', 'workers')
            _set_workers(train_loader, 0)
            hook.setdefault('stream_workers', train_workers)
        elif train_workers != config_train_workers:
            hook.setdefault('stream_workers', config_train_workers)
        elif keep_workers:
            if auto and workers is None and \
                    tries_main_process_loading(cfg, cores_per_process):
                hook.setdefault('loading', 'fastest')
            if not _by_epoch(cfg.train_cfg):
                # The hook's own loaders: mmengine starts a loader's
                # workers, which draw sample indices, before a resumed run's
                # seed is known.
                hook.setdefault('loading', 'workers')
                _set_workers(train_loader, 0)
                hook.setdefault('stream_workers', config_train_workers)
            if hook.get('loading'):
                training = (f'; training loads with the streams of its '
                            f'{config_train_workers} workers '
                            f'(loading={hook["loading"]!r})')
    print_log(
        f'CPU plan: {threads} torch threads, dataloader workers '
        f'{loader_workers}, CRF workers {crf_workers} ({available_cores()} '
        f'cores, {processes_per_node()} processes on this node){training}',
        logger='current',
        level=logging.INFO)
    return ThreadPlan(
        threads=threads,
        workers=max(loader_workers, default=0),
        crf_workers=crf_workers or 0)
