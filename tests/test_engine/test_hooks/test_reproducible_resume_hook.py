# Copyright (c) mmwsss contributors. All rights reserved.
"""Seeds of mmwsss.ReproducibleResumeHook (the resume itself is tested in
tests/test_tools/test_reproducible_resume.py)."""
import pickle
import random

import numpy as np
import torch

from mmwsss.engine.hooks import EpochWorkerSeeder, ReproducibleResumeHook
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


def test_registered():
    assert HOOKS.get('ReproducibleResumeHook') is ReproducibleResumeHook
