# Copyright (c) mmwsss contributors. All rights reserved.
"""Random streams that a resumed training run reproduces exactly."""
import logging
import random
import time
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

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
        main = generator_states()
        streams = []
        for worker_id in range(self.workers):
            self.seeder(worker_id)
            streams.append(generator_states())
        set_generator_states(main)
        # A loader built with workers iterates in the main process while it
        # says it has none.
        workers, self.loader.num_workers = self.loader.num_workers, 0
        try:
            iterator = iter(self.loader)
        finally:
            self.loader.num_workers = workers
        batch_index = 0
        while True:
            stream = batch_index % self.workers
            main = generator_states()
            set_generator_states(streams[stream])
            try:
                batch = next(iterator)
            except StopIteration:
                return
            finally:
                streams[stream] = generator_states()
                set_generator_states(main)
            batch_index += 1
            yield batch


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
      replaying the skipped batches through the loader, whose workers
      (seeded once by mmengine's ``worker_init_fn``) therefore reach the
      same state; with ``num_workers=0`` the main process is also seeded
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
            augmentations of an epoch-based loop follow: the config's
            ``num_workers`` where the tools changed it (they set this).
            Followed exactly with no workers; another positive number of
            workers draws other streams, which is logged. Defaults to None
            (the loader's own workers).
        loading (str): Where an epoch-based loop with loader workers loads
            its batches, the same batches either way: ``'workers'``;
            ``'main'`` (the main process); ``'fastest'``: after a first
            epoch in the main process (warm-up), one in the main process
            and one in the workers, timed whole (the workers start anew
            each epoch), then the faster place, logged (the tools choose
            this for CPU training on few cores, where the workers take
            cores from torch's threads but decoding large images may still
            pay). Defaults to ``'workers'``.
    """

    priority = 'VERY_HIGH'
    LOADING = ('workers', 'main', 'fastest')

    def __init__(self,
                 stream_workers: Optional[int] = None,
                 loading: str = 'workers'):
        if loading not in self.LOADING:
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

    def before_train(self, runner) -> None:
        """Install the worker seeding of epoch-based loops; shuffle with the
        resumed seed."""
        loader = runner.train_loop.dataloader
        self._by_epoch = not isinstance(runner.train_loop, IterBasedTrainLoop)
        self._seed = runner.seed
        self._rank = get_rank()
        sampler = getattr(loader, 'sampler', None)
        if getattr(sampler, 'seed', None) is not None and not runner.cfg.get(
                'randomness', {}).get('diff_rank_seed', False):
            sampler.seed = self._seed
        if self._by_epoch:
            self._worker_seeder = EpochWorkerSeeder(self._seed, self._rank)
            loader.worker_init_fn = self._worker_seeder
            self._follow_stream_workers(runner, loader)
        else:
            if not getattr(loader, 'num_workers', 0):
                runner.train_loop.dataloader_iterator = SeededBatches(
                    runner.train_loop.dataloader_iterator, self._seed,
                    self._rank)
            self._restart_model_stream(runner, epoch=0)

    def _follow_stream_workers(self, runner, loader) -> None:
        """Wrap the loader of an epoch loop in a :class:`WorkerStreamLoader`
        where batches may load in the main process."""
        workers = getattr(loader, 'num_workers', 0)
        self._stream_loader = None
        if workers and self.loading != 'workers':
            self._stream_loader = WorkerStreamLoader(
                loader, self._worker_seeder, workers)
        elif not workers and self.stream_workers:
            self._stream_loader = WorkerStreamLoader(
                loader, self._worker_seeder, self.stream_workers)
        if self._stream_loader is not None:
            runner.train_loop.dataloader = self._stream_loader
        elif self.stream_workers and self.stream_workers != workers:
            print_log(
                f'Training with {workers} loader workers: the random '
                f'augmentations differ from those of the config\'s '
                f'{self.stream_workers} workers (only a loader without '
                'workers can follow their streams).',
                logger='current',
                level=logging.WARNING)

    def _trying(self) -> bool:
        return (self.loading == 'fastest' and self._stream_loader is not None
                and len(self._trials) < 2)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Count the iterations of a trial epoch (``loading='fastest'``)."""
        if self._trying():
            self._epoch_iterations += 1

    def after_train_epoch(self, runner) -> None:
        """After the trial epochs, load where the iterations were shorter."""
        if not self._trying():
            return
        if not self._warmed_up:
            self._warmed_up = True
            return
        place = 'main' if self._stream_loader.in_main_process else 'workers'
        # The whole epoch: the workers' start, each epoch, is part of it.
        self._trials[place] = (time.perf_counter() - self._epoch_start) / max(
            self._epoch_iterations, 1)
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
