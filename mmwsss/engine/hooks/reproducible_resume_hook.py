# Copyright (c) mmwsss contributors. All rights reserved.
"""Random streams that a resumed training run reproduces exactly."""
import collections
import logging
import random
import time
from functools import partial
from typing import Callable, Optional

import numpy as np
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.dataset import worker_init_fn as default_worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop
from torch.utils.data import DataLoader

from mmwsss.registry import HOOKS


def derived_seed(seed: int, *keys: int) -> int:
    """A 32-bit seed derived from ``seed`` and integer keys (epoch, rank,
    worker...), statistically independent for different keys.

    Args:
        seed (int): The run's seed.
        *keys (int): Non-negative integers naming the stream.

    Returns:
        int: A seed in ``[0, 2**32)``.
    """
    sequence = np.random.SeedSequence([seed % 2**32, *keys])
    return int(sequence.generate_state(1, np.uint32)[0])


def seed_all(seed: int) -> None:
    """Seed python's ``random``, numpy's global and torch's generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class EpochWorkerSeeder:
    """``worker_init_fn`` seeding each loader worker from (seed, epoch,
    rank, worker id).

    mmengine's default ``worker_init_fn`` seeds from (seed, rank, worker id)
    only: every epoch's workers repeat the same random stream, and
    persistent workers carry their stream over from one epoch to the next,
    which a resumed run (new workers) cannot reproduce. ``epoch`` is set by
    :class:`ReproducibleResumeHook` before the workers of an epoch start;
    they get it with their copy of this object (forked or pickled).

    Args:
        seed (int): The run's seed.
        rank (int): The process's rank.
    """

    def __init__(self, seed: int, rank: int):
        self.seed = seed
        self.rank = rank
        self.epoch = 0

    def __call__(self, worker_id: int) -> None:
        seed_all(derived_seed(self.seed, 1, self.epoch, self.rank, worker_id))


def generator_states() -> tuple:
    """The states of python's ``random``, numpy's global and torch's
    generators (what :func:`seed_all` seeds)."""
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_generator_states(states: tuple) -> None:
    """Restore states from :func:`generator_states`."""
    random.setstate(states[0])
    np.random.set_state(states[1])
    torch.set_rng_state(states[2])


def worker_streams(worker_init_fn: Callable[[int], None],
                   workers: int) -> list:
    """The generator states (:func:`generator_states`) that each of
    ``workers`` loader workers starts from, as seeded by the loader's
    ``worker_init_fn``; this process's generators are left as they were."""
    main = generator_states()
    streams = []
    for worker_id in range(workers):
        worker_init_fn(worker_id)
        streams.append(generator_states())
    set_generator_states(main)
    return streams


def next_on_stream(iterator, streams: list, stream: int):
    """The next item of ``iterator``, loaded with the generator states
    ``streams[stream]``, which it advances; this process's generators are
    left as they were."""
    main = generator_states()
    set_generator_states(streams[stream])
    try:
        return next(iterator)
    finally:
        streams[stream] = generator_states()
        set_generator_states(main)


class WorkerStreamLoader:
    """A training loader that can load its batches in the main process with
    the random streams they would have had in ``workers`` loader workers.

    torch hands the batches of an epoch to the workers in turn (batch ``b``
    to worker ``b % workers``) and :class:`EpochWorkerSeeder` seeds each
    worker at the start of an epoch, so the augmentations of batch ``b``
    draw from worker ``b % workers``'s stream. In the main process this
    loader keeps those streams and switches to the batch's one while
    loading it; its own generators are left as they were, as with workers.
    The trained weights then do not depend on where the augmentations run,
    so the faster place can be chosen (:class:`ReproducibleResumeHook`'s
    ``loading``).

    Attribute access other than iteration goes to the wrapped loader.

    Args:
        loader (DataLoader): The training loader, with or without workers.
        seeder (EpochWorkerSeeder): The seeding of the workers, at the
            current epoch.
        workers (int): How many workers the streams are of.
        in_main_process (bool): Load in the main process; else in the
            loader's workers (which it must have). Defaults to True.
    """

    def __init__(self, loader, seeder: EpochWorkerSeeder, workers: int,
                 in_main_process: bool = True):
        self.loader = loader
        self.seeder = seeder
        self.workers = workers
        self.in_main_process = in_main_process

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        return getattr(self.loader, name)

    def __iter__(self):
        if not self.in_main_process:
            yield from self.loader
            return
        streams = worker_streams(self.seeder, self.workers)
        # A loader built with workers iterates in the main process while it
        # says it has none.
        workers, self.loader.num_workers = self.loader.num_workers, 0
        try:
            iterator = iter(self.loader)
        finally:
            self.loader.num_workers = workers
        batch_index = 0
        while True:
            try:
                batch = next_on_stream(iterator, streams,
                                       batch_index % self.workers)
            except StopIteration:
                return
            batch_index += 1
            yield batch


class _StartFromStates:
    """``worker_init_fn`` starting worker ``i`` from the generator states
    ``states[i]``."""

    def __init__(self, states: list):
        self.states = states

    def __call__(self, worker_id: int) -> None:
        set_generator_states(self.states[worker_id])


class _WithStates:
    """``collate_fn`` that returns, with each batch, the generator states of
    the worker after it: where its stream stands for its next batch."""

    def __init__(self, collate_fn: Callable):
        self.collate_fn = collate_fn

    def __call__(self, items: list) -> tuple:
        return self.collate_fn(items), generator_states()


class _IndexBatches:
    """One pass over a batch sampler, handed to successive loaders: each
    starts with the index batches that the previous one drew but whose
    batches were not returned (:meth:`returned` tells), then draws new ones.

    Samplers keep their place (mmengine's ``InfiniteSampler`` continues one
    stream of indices), so a loader that starts anew cannot simply iterate
    the sampler again, and workers draw index batches ahead of the ones
    returned.
    """

    def __init__(self, batch_sampler):
        self._source = iter(batch_sampler)
        self._pending = collections.deque()

    def returned(self) -> None:
        """The batch of the oldest index batch drawn was returned."""
        self._pending.popleft()

    def __iter__(self):
        yield from list(self._pending)
        for indices in self._source:
            self._pending.append(indices)
            yield indices


class WorkerStreamIterator:
    """The batch iterator of an iteration-based loop whose batches keep the
    random streams of ``workers`` loader workers, loaded in the main process
    or in workers, and which can change place between any two batches.

    mmengine's iteration loops iterate their loader once (an infinite
    sampler): each worker is seeded once, by the loader's
    ``worker_init_fn``, and batch ``b`` is loaded by worker
    ``b % workers``. This iterator loads the loader's batches with loaders
    of its own, so the loader must not have started workers (which draw
    indices ahead). In the main process this iterator loads batch ``b``
    with that worker's stream and leaves the main process's generators as
    they were; in workers, it starts them at the current batch from the
    streams they have reached (each batch comes back with its worker's
    generator states). The batches, and so the trained weights, do not
    depend on where and since when they are loaded, which lets
    :class:`ReproducibleResumeHook` time both places within one run.
    Pipeline transforms are assumed to keep no state from one item to the
    next (as with :class:`WorkerStreamLoader`).

    Args:
        loader (DataLoader): The training loader, with an infinite batch
            sampler, not yet iterated.
        worker_init_fn (Callable[[int], None]): Seeds the generators of a
            worker, given its id, as the loader's workers are seeded.
        workers (int): How many workers the streams are of.
        in_main_process (bool): Load in the main process; else in
            ``workers`` workers. Defaults to True.
    """

    def __init__(self,
                 loader,
                 worker_init_fn: Callable[[int], None],
                 workers: int,
                 in_main_process: bool = True):
        self.loader = loader
        self.workers = workers
        self._streams = worker_streams(worker_init_fn, workers)
        self._in_main_process = in_main_process
        self._position = 0  # batches returned
        self._index_batches = _IndexBatches(loader.batch_sampler)
        self._batches = None

    @property
    def in_main_process(self) -> bool:
        """Where the next batches load; set to move there."""
        return self._in_main_process

    @in_main_process.setter
    def in_main_process(self, value: bool) -> None:
        if value != self._in_main_process:
            self.close()
            self._in_main_process = value

    def close(self) -> None:
        """Drop the batches loaded ahead and stop the workers loading
        them; the next batch starts the loading anew."""
        shutdown = getattr(self._batches, '_shutdown_workers', None)
        if shutdown is not None:
            shutdown()
        self._batches = None

    def _start(self):
        loader = self.loader
        kwargs = dict(
            batch_sampler=self._index_batches, pin_memory=loader.pin_memory)
        if self._in_main_process:
            return iter(
                DataLoader(
                    loader.dataset, collate_fn=loader.collate_fn, **kwargs))
        # New worker i loads the batches of the stream position + i.
        states = [
            self._streams[(self._position + i) % self.workers]
            for i in range(self.workers)
        ]
        return iter(
            DataLoader(
                loader.dataset,
                num_workers=self.workers,
                collate_fn=_WithStates(loader.collate_fn),
                worker_init_fn=_StartFromStates(states),
                timeout=loader.timeout,
                multiprocessing_context=loader.multiprocessing_context,
                prefetch_factor=loader.prefetch_factor,
                **kwargs))

    def __iter__(self):
        return self

    def __next__(self):
        if self._batches is None:
            # A loader's iterator draws its base seed from torch's
            # generator: not from the main process's.
            main = generator_states()
            self._batches = self._start()
            set_generator_states(main)
        stream = self._position % self.workers
        if self._in_main_process:
            batch = next_on_stream(self._batches, self._streams, stream)
        else:
            batch, self._streams[stream] = next(self._batches)
        self._index_batches.returned()
        self._position += 1
        return batch


class SeededBatches:
    """An iterator of batches that seeds the main process from (seed, batch
    count, rank) before loading each batch.

    For iteration-based loops with ``num_workers=0``: the augmentations then
    draw from the main process's generators, and mmengine resumes these
    loops by loading the skipped batches again, without the training steps
    (and their draws) in between. Seeded by its position, each batch gets
    the same draws in the replay as in the uninterrupted run.

    Args:
        iterator: The loop's batch iterator.
        seed (int): The run's seed.
        rank (int): The process's rank.
    """

    def __init__(self, iterator, seed: int, rank: int):
        self._iterator = iterator
        self._seed = seed
        self._rank = rank
        self._count = 0

    def __iter__(self):
        return self

    def __next__(self):
        seed_all(derived_seed(self._seed, 3, self._count, self._rank))
        self._count += 1
        return next(self._iterator)

    def __getattr__(self, name: str):
        return getattr(self._iterator, name)


@HOOKS.register_module()
class ReproducibleResumeHook(Hook):
    """Make ``--resume`` continue the random streams of an uninterrupted run.

    mmengine restores the weights, optimizer, schedulers and sample order
    (its samplers shuffle by seed and epoch) but not the state of the
    random generators the data augmentation and the model draw from: the
    main process continues from a fresh seed and new loader workers restart
    the streams of the first epoch. With random augmentations the resumed
    weights therefore differ from those of an uninterrupted run.

    Here the streams depend only on the run's seed and the position in
    training, so that no generator state has to be saved:

    * Epoch-based loops: at the start of each epoch the main process's
      generators (python ``random``, numpy, torch) are seeded from (seed,
      epoch, rank) and each loader worker's from (seed, epoch, rank,
      worker id) (:class:`EpochWorkerSeeder`); persistent workers are
      restarted at each epoch for that. mmengine resumes these loops at an
      epoch boundary. The main process can load each batch with the
      stream of the worker that would have loaded it
      (:class:`WorkerStreamLoader`), and then trains as with the workers:
      where ``loading`` says so, or with ``stream_workers`` and a loader
      without workers.
    * Iteration-based loops: the main process is seeded from (seed,
      iteration, rank) before each iteration. mmengine resumes them by
      replaying the skipped batches through the loader. A loader without
      workers, with ``stream_workers`` and an infinite sampler (mmengine's
      ``InfiniteSampler``), loads each batch with the stream of the worker
      that would have loaded it, in the main process or in workers of the
      hook's own, and can move between the two at any batch
      (:class:`WorkerStreamIterator`; with mmengine's ``worker_init_fn``,
      the streams are those of the run's seed, the checkpoint's when
      resumed): the tools build every such loop so. A loader's own
      workers (seeded once by mmengine's ``worker_init_fn``) reach the same
      state in the replay only with a fixed ``randomness.seed``: mmengine
      starts them, and they draw sample indices, before the checkpoint's
      seed is known. Other loaders without workers seed the main process
      from (seed, batch count, rank) before each batch is loaded
      (:class:`SeededBatches`), so that the replayed augmentations draw
      what they drew in the uninterrupted run.
    * A model with a loader of its own (W-OoD's OoD images) has
      ``restart_data_stream(seed, batches_done, worker_init_fn)``: it is
      restarted at each epoch (once for iteration loops) at the position
      of training (one batch per iteration done), its sampler seeded from
      the run's seed and its workers as the epoch's.

    The run's seed is ``runner.seed``: a resumed run takes the one saved in
    the checkpoint, also where the config's ``randomness.seed`` is None; so
    does the sampler's shuffling here (mmengine built the sampler before
    resuming).

    Args:
        stream_workers (int, optional): The workers whose random streams the
            augmentations follow, for a loader without workers (in
            iteration loops: with an infinite sampler): the config's
            ``num_workers`` where the tools took the loader's (they set
            this). A loader with another positive number of workers draws
            other streams, which is logged. Defaults to None (the loader's
            own workers).
        loading (str, optional): Where the batches load, the same batches
            either way: ``'workers'``, ``'main'`` (the main process) or
            ``'fastest'``, a timed trial of each place, then the faster one,
            logged (the tools choose this for CPU training on few cores,
            where the workers take cores from torch's threads but decoding
            large images may still pay). Epoch loops load in workers only
            with their loader's own, and try them with a first epoch in the
            main process (warm-up), one in the main process and one in the
            workers, timed whole (the workers start anew each epoch).
            Iteration loops with ``stream_workers`` and a loader without
            workers load in ``stream_workers`` workers of the hook's own
            and try them with :attr:`TRIAL_ITERATIONS` timed iterations in
            each place, the first :attr:`TRIAL_WARMUP_ITERATIONS` of each
            untimed (the first steps, the workers' start); a run with fewer
            than :attr:`TRIAL_LENGTHS_LEFT` times the trial's iterations
            left loads in the main process without a trial, logged.
            Defaults to None: where the loader loads, in its workers if it
            has some, else in the main process.
    """

    priority = 'VERY_HIGH'
    LOADING = ('workers', 'main', 'fastest')
    #: Untimed, then timed iterations of each place in an iteration loop's
    #: trial (``loading='fastest'``).
    TRIAL_WARMUP_ITERATIONS = 5
    TRIAL_ITERATIONS = 20
    #: How many times the trial's length an iteration loop needs left to
    #: run it (the trial is then at most a quarter of the run).
    TRIAL_LENGTHS_LEFT = 4

    def __init__(self,
                 stream_workers: Optional[int] = None,
                 loading: Optional[str] = None):
        if loading is not None and loading not in self.LOADING:
            raise ValueError(
                f'loading must be one of {self.LOADING}, got {loading!r}')
        self.stream_workers = stream_workers
        self.loading = loading
        self._stream_loader = None
        # time per iteration (s) of the trial epochs, by place
        self._trials = {}
        self._warmed_up = False
        self._epoch_start = 0.0
        self._epoch_iterations = 0
        self._trial_start = 0.0
        self._trial_iterations = 0

    def before_train(self, runner) -> None:
        """Install the worker seeding of epoch loops or the batch iterator
        of iteration loops; shuffle with the resumed seed."""
        loader = runner.train_loop.dataloader
        self._by_epoch = not isinstance(runner.train_loop, IterBasedTrainLoop)
        self._seed = runner.seed
        self._rank = get_rank()
        # mmdet's batch samplers hold the sampler; the loader's is torch's.
        sampler = getattr(
            getattr(loader, 'batch_sampler', None), 'sampler',
            getattr(loader, 'sampler', None))
        if getattr(sampler, 'seed', None) is not None and not runner.cfg.get(
                'randomness', {}).get('diff_rank_seed', False):
            sampler.seed = self._seed
        if self._by_epoch:
            self._worker_seeder = EpochWorkerSeeder(self._seed, self._rank)
            loader.worker_init_fn = self._worker_seeder
            self._follow_stream_workers(runner, loader)
        else:
            self._follow_iteration_streams(runner, loader)
            self._restart_model_stream(runner, epoch=0)

    def _follow_stream_workers(self, runner, loader) -> None:
        """Wrap the loader of an epoch loop in a :class:`WorkerStreamLoader`
        where batches may load in the main process."""
        workers = getattr(loader, 'num_workers', 0)
        self._stream_loader = None
        if workers and self.loading in ('main', 'fastest'):
            self._stream_loader = WorkerStreamLoader(
                loader, self._worker_seeder, workers)
        elif not workers and self.stream_workers:
            if self.loading in ('workers', 'fastest'):
                print_log(
                    f'loading={self.loading!r}: an epoch loop loads in '
                    'workers only with its loader\'s own; loading in the '
                    'main process.',
                    logger='current',
                    level=logging.WARNING)
            self._stream_loader = WorkerStreamLoader(
                loader, self._worker_seeder, self.stream_workers)
        if self._stream_loader is not None:
            runner.train_loop.dataloader = self._stream_loader
        else:
            self._warn_other_streams(workers)

    def _warn_other_streams(self, workers: int) -> None:
        """Log where ``workers`` loader workers draw other augmentations
        than the config's ``stream_workers``."""
        if self.stream_workers and self.stream_workers != workers:
            print_log(
                f'Training with {workers} loader workers: the random '
                f'augmentations differ from those of the config\'s '
                f'{self.stream_workers} workers (only a loader without '
                'workers can follow their streams).',
                logger='current',
                level=logging.WARNING)

    def _iteration_worker_init(self, loader,
                               workers: int) -> Optional[Callable]:
        """How ``workers`` workers of an iteration loop's loader would be
        seeded, None where their streams cannot be followed: the sampler is
        not infinite (mmengine restarts finite ones each epoch, persistent
        workers or not), or the loader seeds no workers."""
        if not isinstance(
                getattr(loader.batch_sampler, 'sampler', None),
                InfiniteSampler):
            return None
        init_fn = loader.worker_init_fn
        if isinstance(init_fn, partial) and \
                init_fn.func is default_worker_init_fn:
            # mmengine's seeding, with the config's workers and the run's
            # seed (a resumed run's loader was built with a new one).
            return partial(init_fn, num_workers=workers, seed=self._seed)
        return init_fn

    def _follow_iteration_streams(self, runner, loader) -> None:
        """Replace the batch iterator of an iteration loop whose loader has
        no workers: with a :class:`WorkerStreamIterator` following
        ``stream_workers`` workers, else with :class:`SeededBatches`."""
        workers = getattr(loader, 'num_workers', 0)
        if workers:
            self._warn_other_streams(workers)
            if self.loading in ('main', 'fastest'):
                print_log(
                    'An iteration loop loads in the main process only from '
                    'a loader without workers that follows their streams '
                    '(num_workers=0 and the hook\'s stream_workers, as the '
                    'tools set them): loading in the workers.',
                    logger='current',
                    level=logging.WARNING)
            return
        init_fn = self.stream_workers and self._iteration_worker_init(
            loader, self.stream_workers)
        if not init_fn:
            if self.stream_workers:
                print_log(
                    'The batches cannot follow the random streams of '
                    f'{self.stream_workers} loader workers (an iteration '
                    'loop needs an infinite sampler and seeded workers): '
                    'the main process draws its own.',
                    logger='current',
                    level=logging.WARNING)
            runner.train_loop.dataloader_iterator = SeededBatches(
                runner.train_loop.dataloader_iterator, self._seed,
                self._rank)
            return
        self._stream_loader = WorkerStreamIterator(
            loader,
            init_fn,
            self.stream_workers,
            in_main_process=self.loading != 'workers')
        runner.train_loop.dataloader_iterator = self._stream_loader
        trial = 2 * (self.TRIAL_WARMUP_ITERATIONS + self.TRIAL_ITERATIONS)
        left = runner.max_iters - runner.iter
        if self.loading == 'fastest' and \
                left < self.TRIAL_LENGTHS_LEFT * trial:
            self.loading = 'main'
            print_log(
                f'{left} iterations left, too few for a loading trial of '
                f'{trial}: loading in the main process.',
                logger='current',
                level=logging.INFO)

    def _trying(self) -> bool:
        return (self.loading == 'fastest' and self._stream_loader is not None
                and len(self._trials) < 2)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Count the iterations of a trial (``loading='fastest'``); time
        those of an iteration loop (the replay of a resumed run's batches
        calls no hooks, so it is not timed)."""
        if not self._trying():
            return
        if self._by_epoch:
            self._epoch_iterations += 1
            return
        self._trial_iterations += 1
        warmup, timed = self.TRIAL_WARMUP_ITERATIONS, self.TRIAL_ITERATIONS
        within = self._trial_iterations % (warmup + timed)
        if within == warmup:
            self._trial_start = time.perf_counter()
        elif within == 0:
            self._record_trial(
                (time.perf_counter() - self._trial_start) / timed)

    def after_train_epoch(self, runner) -> None:
        """After the trial epochs, load where the iterations were shorter."""
        if not (self._by_epoch and self._trying()):
            return
        if not self._warmed_up:
            self._warmed_up = True
            return
        # The whole epoch: the workers' start, each epoch, is part of it.
        self._record_trial((time.perf_counter() - self._epoch_start) /
                           max(self._epoch_iterations, 1))

    def _record_trial(self, seconds_per_iteration: float) -> None:
        """Keep the time of the place just tried; try the workers next, or
        load in the faster place."""
        place = 'main' if self._stream_loader.in_main_process else 'workers'
        self._trials[place] = seconds_per_iteration
        if len(self._trials) == 1:
            self._stream_loader.in_main_process = False
            return
        fastest = min(self._trials, key=self._trials.get)
        self._stream_loader.in_main_process = fastest == 'main'
        print_log(
            'Training time per iteration with the batches loaded in the '
            f"loader's workers {self._trials['workers']:.3f} s, in the main "
            f"process {self._trials['main']:.3f} s (same batches): loading "
            f'in the {"main process" if fastest == "main" else "workers"}.',
            logger='current',
            level=logging.INFO)

    def _restart_model_stream(self, runner, epoch: int) -> None:
        """Restart the model's own loader, if any, at the training
        position."""
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        restart = getattr(model, 'restart_data_stream', None)
        if restart is None:
            return
        seed = derived_seed(self._seed, 4)
        worker_seeder = EpochWorkerSeeder(seed, self._rank)
        worker_seeder.epoch = epoch
        restart(
            seed=seed, batches_done=runner.iter, worker_init_fn=worker_seeder)

    def before_train_epoch(self, runner) -> None:
        """Seed the main process and this epoch's workers (epoch loops)."""
        if not self._by_epoch:
            return
        seed_all(derived_seed(self._seed, 0, runner.epoch, self._rank))
        self._worker_seeder.epoch = runner.epoch
        self._restart_model_stream(runner, runner.epoch)
        loader = runner.train_loop.dataloader
        if isinstance(loader, WorkerStreamLoader):
            loader = loader.loader
        # torch keeps persistent workers in the loader's private _iterator
        # and only re-seeds them at their start: start new ones.
        iterator = getattr(loader, '_iterator', None)
        if iterator is not None:
            iterator._shutdown_workers()
            loader._iterator = None
        if self._trying():
            self._epoch_start = time.perf_counter()
            self._epoch_iterations = 0

    def before_train_iter(self,
                          runner,
                          batch_idx: int,
                          data_batch=None) -> None:
        """Seed the main process before each iteration (iteration loops)."""
        if not self._by_epoch:
            seed_all(derived_seed(self._seed, 2, runner.iter, self._rank))
