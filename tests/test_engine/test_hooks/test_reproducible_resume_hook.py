# Copyright (c) mmwsss contributors. All rights reserved.
"""Seeds of mmwsss.ReproducibleResumeHook, the worker streams of a loader
without workers and the loading trials (the resume itself, and training
with and without workers, are tested in
tests/test_tools/test_reproducible_resume.py)."""
import itertools
import pickle
import random
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.dataset import InfiniteSampler, worker_init_fn

from mmwsss.engine.hooks import (EpochWorkerSeeder, ReproducibleResumeHook,
                                 WorkerStreamIterator, WorkerStreamLoader,
                                 reproducible_resume_hook)
from mmwsss.engine.hooks.reproducible_resume_hook import (derived_seed,
                                                          seed_all)
from mmwsss.registry import HOOKS


def _draws() -> tuple:
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_derived_seeds_are_distinct_and_stable():
    seeds = {
        derived_seed(0, 1, epoch, rank, worker)
        for epoch in range(3) for rank in range(2) for worker in range(2)
    }
    assert len(seeds) == 12
    assert derived_seed(0, 1, 2, 0, 1) == derived_seed(0, 1, 2, 0, 1)
    assert derived_seed(0, 1, 2) != derived_seed(1, 1, 2)
    assert all(0 <= seed < 2**32 for seed in seeds)
    # Seeds beyond 32 bits (mmengine may draw any int) are accepted.
    assert 0 <= derived_seed(2**40 + 3, 0) < 2**32


def test_worker_seeder_depends_on_epoch_and_worker():
    seeder = EpochWorkerSeeder(seed=0, rank=0)
    seeder(0)
    first = _draws()
    seeder(0)
    assert _draws() == first
    seeder(1)
    assert _draws() != first
    seeder.epoch = 1
    # A worker started in another process gets the epoch with the seeder.
    pickle.loads(pickle.dumps(seeder))(0)
    second_epoch = _draws()
    assert second_epoch != first
    seed_all(derived_seed(0, 1, 1, 0, 0))
    assert _draws() == second_epoch


@pytest.fixture
def messages(monkeypatch) -> list:
    """What the hook logs."""
    logged = []
    monkeypatch.setattr(reproducible_resume_hook, 'print_log',
                        lambda message, **kwargs: logged.append(message))
    return logged


@pytest.fixture
def clock(monkeypatch) -> list:
    """The hook's clock, in seconds, advanced by the test."""
    now = [0.0]
    monkeypatch.setattr(reproducible_resume_hook.time, 'perf_counter',
                        lambda: now[0])
    return now


def test_registered():
    assert HOOKS.get('ReproducibleResumeHook') is ReproducibleResumeHook


class _RandomItems(torch.utils.data.Dataset):
    """Items drawn from the three generators, as random augmentations do."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, index: int) -> tuple:
        return (index, *_draws())


def _epoch_batches(loader, seeder: EpochWorkerSeeder, epoch: int) -> list:
    seeder.epoch = epoch
    return [batch for batch in loader]


def test_worker_stream_loader_draws_what_the_workers_draw():
    seeder = EpochWorkerSeeder(seed=7, rank=0)
    kwargs = dict(batch_size=3, collate_fn=list, worker_init_fn=seeder)
    with_workers = torch.utils.data.DataLoader(
        _RandomItems(), num_workers=2, **kwargs)
    seed_all(3)
    expected = [_epoch_batches(with_workers, seeder, epoch)
                for epoch in range(2)]
    expected_main = _draws()

    main_process = WorkerStreamLoader(
        torch.utils.data.DataLoader(_RandomItems(), num_workers=0, **kwargs),
        seeder, workers=2)
    assert len(main_process) == 4
    assert main_process.batch_size == 3
    seed_all(3)
    got = [_epoch_batches(main_process, seeder, epoch) for epoch in range(2)]
    assert got == expected
    # The main process's own stream continues as with workers (each epoch's
    # iterator draws its base seed from it either way).
    assert _draws() == expected_main
    # The batches of one worker continue its stream: with one stream for
    # all batches the draws differ.
    one_stream = WorkerStreamLoader(main_process.loader, seeder, workers=1)
    assert _epoch_batches(one_stream, seeder, 0) != expected[0]


def test_hook_follows_the_config_workers_only_without_workers(messages):
    runner = SimpleNamespace(
        train_loop=SimpleNamespace(dataloader=SimpleNamespace(num_workers=0)))
    hook = ReproducibleResumeHook(stream_workers=2)
    hook._worker_seeder = EpochWorkerSeeder(0, 0)
    hook._follow_stream_workers(runner, runner.train_loop.dataloader)
    assert isinstance(runner.train_loop.dataloader, WorkerStreamLoader)
    assert runner.train_loop.dataloader.workers == 2

    loader = SimpleNamespace(num_workers=1)
    runner.train_loop.dataloader = loader
    hook._follow_stream_workers(runner, loader)
    assert runner.train_loop.dataloader is loader
    # Other streams than the config's: said in the log.
    assert len(messages) == 1
    assert "differ from those of the config's 2 workers" in messages[0]
    # An epoch loop has no workers of the hook's own.
    loader = SimpleNamespace(num_workers=0)
    runner.train_loop.dataloader = loader
    hook = ReproducibleResumeHook(2, loading='workers')
    hook._worker_seeder = EpochWorkerSeeder(0, 0)
    hook._follow_stream_workers(runner, loader)
    assert runner.train_loop.dataloader.loader is loader
    assert 'loads in workers only with its loader' in messages[-1]
    for stream_workers, workers in ((None, 0), (2, 2)):
        loader = SimpleNamespace(num_workers=workers)
        runner.train_loop.dataloader = loader
        ReproducibleResumeHook(stream_workers)._follow_stream_workers(
            runner, loader)
        assert runner.train_loop.dataloader is loader


def test_worker_stream_loader_with_workers_loads_where_told():
    seeder = EpochWorkerSeeder(seed=7, rank=0)
    loader = torch.utils.data.DataLoader(
        _RandomItems(), num_workers=2, batch_size=3, collate_fn=list,
        worker_init_fn=seeder)
    stream_loader = WorkerStreamLoader(loader, seeder, workers=2,
                                       in_main_process=False)
    in_workers = _epoch_batches(stream_loader, seeder, 1)
    stream_loader.in_main_process = True
    assert _epoch_batches(stream_loader, seeder, 1) == in_workers
    assert loader.num_workers == 2


@pytest.mark.parametrize('workers_s,main_s,expected_main',
                         [(0.2, 0.1, True), (0.1, 0.2, False),
                          (0.1, 0.15, True)])  # start 0.4 s: 0.18 s/iter
def test_fastest_loading_keeps_the_place_of_the_shorter_iterations(
        messages, clock, workers_s, main_s, expected_main):
    loader = SimpleNamespace(num_workers=2, _iterator=None)
    runner = SimpleNamespace(
        train_loop=SimpleNamespace(dataloader=loader), model=None, epoch=0)
    hook = ReproducibleResumeHook(loading='fastest')
    hook._by_epoch, hook._seed, hook._rank = True, 0, 0
    hook._worker_seeder = EpochWorkerSeeder(0, 0)
    hook._follow_stream_workers(runner, loader)
    stream_loader = runner.train_loop.dataloader

    def epoch(iteration_s, start_s=0.0):
        hook.before_train_epoch(runner)
        clock[0] += start_s  # the workers' start
        for i in range(5):
            clock[0] += iteration_s
            hook.after_train_iter(runner, i)
        hook.after_train_epoch(runner)
        runner.epoch += 1

    epoch(1.0)  # warm-up, in the main process, not timed
    assert stream_loader.in_main_process
    epoch(main_s)
    assert not stream_loader.in_main_process  # the second trial: workers
    epoch(workers_s, start_s=0.4)
    assert stream_loader.in_main_process == expected_main
    assert len(messages) == 1
    assert 'loading in the ' + ('main process' if expected_main else
                                'workers') in messages[0]
    epoch(10 * max(workers_s, main_s))  # decided for good
    assert stream_loader.in_main_process == expected_main
    assert len(messages) == 1
    with pytest.raises(ValueError, match='loading'):
        ReproducibleResumeHook(loading='auto')


def _infinite_loader(workers: int, seed: int = 11):
    """A loader as mmengine builds it for an iteration loop, with the run's
    seed."""
    return torch.utils.data.DataLoader(
        _RandomItems(),
        batch_size=3,
        sampler=InfiniteSampler(_RandomItems(), seed=seed),
        num_workers=workers,
        collate_fn=list,
        worker_init_fn=partial(
            worker_init_fn, num_workers=workers, rank=0, seed=seed))


@pytest.mark.parametrize('switches', [(), (3, 7, 9), (1, 2, 3, 4, 5)],
                         ids=['main', 'main-workers-main-workers', 'often'])
def test_worker_stream_iterator_draws_what_the_workers_draw(switches):
    expected = list(itertools.islice(iter(_infinite_loader(2)), 12))
    seed_all(3)
    expected_main = _draws()

    seed_all(3)
    stream_iterator = WorkerStreamIterator(
        _infinite_loader(0), partial(worker_init_fn, num_workers=2, rank=0,
                                     seed=11), workers=2)
    got = []
    for index in range(12):
        if index in switches:
            stream_iterator.in_main_process = (
                not stream_iterator.in_main_process)
        got.append(next(stream_iterator))
    stream_iterator.close()
    assert got == expected
    # The main process's generators are left to the main process.
    assert _draws() == expected_main
    # Each worker's batches continue its stream: with one stream the
    # draws differ.
    one_stream = WorkerStreamIterator(
        _infinite_loader(0), partial(worker_init_fn, num_workers=1, rank=0,
                                     seed=11), workers=1)
    assert [next(one_stream) for _ in range(12)] != expected


class _IterationRunner(SimpleNamespace):
    """What the hook reads of a runner with an iteration loop."""

    def __init__(self, loader, max_iters: int, iteration: int = 0):
        super().__init__(
            train_loop=SimpleNamespace(
                dataloader=loader, dataloader_iterator=iter(loader)),
            model=None, seed=11, iter=iteration, max_iters=max_iters,
            cfg=dict(), epoch=0)


def _iteration_hook(monkeypatch, **kwargs) -> ReproducibleResumeHook:
    monkeypatch.setattr(reproducible_resume_hook, 'IterBasedTrainLoop',
                        SimpleNamespace)
    return ReproducibleResumeHook(**kwargs)


@pytest.mark.parametrize('loading, in_main_process',
                         [(None, True), ('main', True), ('workers', False)])
def test_iteration_loop_loads_where_told(monkeypatch, messages, loading,
                                         in_main_process):
    hook = _iteration_hook(monkeypatch, stream_workers=2, loading=loading)
    runner = _IterationRunner(_infinite_loader(0), max_iters=10)
    hook.before_train(runner)
    stream_iterator = runner.train_loop.dataloader_iterator
    assert stream_iterator.in_main_process == in_main_process
    batches = [next(stream_iterator) for _ in range(5)]
    stream_iterator.close()
    # The streams of mmengine's seeding of the config's 2 workers.
    assert batches == list(itertools.islice(iter(_infinite_loader(2)), 5))
    assert not messages


@pytest.mark.parametrize('workers_s,main_s,expected_main',
                         [(0.2, 0.1, True), (0.1, 0.2, False)])
def test_iteration_loop_keeps_the_place_of_the_shorter_iterations(
        monkeypatch, messages, clock, workers_s, main_s, expected_main):
    hook = _iteration_hook(monkeypatch, stream_workers=2, loading='fastest')
    runner = _IterationRunner(_infinite_loader(0), max_iters=200)
    hook.before_train(runner)
    stream_iterator = runner.train_loop.dataloader_iterator
    assert isinstance(stream_iterator, WorkerStreamIterator)
    assert stream_iterator.workers == 2

    def iterations(count, seconds, slow_first=0.0):
        for index in range(count):
            clock[0] += seconds + (slow_first if index == 0 else 0.0)
            hook.after_train_iter(runner, runner.iter)
            runner.iter += 1

    iterations(5, 1.0)  # warm-up in the main process, not timed
    assert stream_iterator.in_main_process
    iterations(20, main_s)
    assert not stream_iterator.in_main_process  # then the workers
    iterations(5, 1.0, slow_first=3.0)  # their start, not timed
    iterations(20, workers_s)
    assert stream_iterator.in_main_process == expected_main
    assert len(messages) == 1
    assert f'workers {workers_s:.3f} s, in the main process {main_s:.3f}' \
        in messages[0]
    iterations(50, 10.0)  # decided for good
    assert stream_iterator.in_main_process == expected_main
    assert len(messages) == 1
    stream_iterator.close()


def test_iteration_loop_too_short_for_a_trial_loads_in_the_main_process(
        monkeypatch, messages):
    hook = _iteration_hook(monkeypatch, stream_workers=2, loading='fastest')
    # 200 iterations needed, 199 left of a resumed run
    runner = _IterationRunner(_infinite_loader(0), max_iters=250,
                              iteration=51)
    hook.before_train(runner)
    assert hook.loading == 'main'
    assert messages == [
        '199 iterations left, too few for a loading trial of 50: loading '
        'in the main process.'
    ]
    for _ in range(60):
        hook.after_train_iter(runner, 0)
    assert runner.train_loop.dataloader_iterator.in_main_process


@pytest.mark.parametrize('case', ['own workers', 'finite sampler'])
def test_iteration_loop_without_worker_streams_says_so(
        monkeypatch, messages, case):
    hook = _iteration_hook(monkeypatch, stream_workers=2, loading='fastest')
    if case == 'own workers':
        loader = _infinite_loader(1)
    else:
        loader = torch.utils.data.DataLoader(
            _RandomItems(), batch_size=3, collate_fn=list)
    runner = _IterationRunner(loader, max_iters=1000)
    iterator = runner.train_loop.dataloader_iterator
    hook.before_train(runner)
    if case == 'own workers':
        # other streams than the config's, and loaded where they are
        assert runner.train_loop.dataloader_iterator is iterator
        assert "differ from those of the config's 2 workers" in messages[0]
        assert 'loading in the workers' in messages[1]
    else:
        # the main process's own streams, seeded by batch
        assert isinstance(runner.train_loop.dataloader_iterator,
                          reproducible_resume_hook.SeededBatches)
        assert 'cannot follow the random streams of 2' in messages[0]
    assert len(messages) == 1 + (case == 'own workers')
