# Copyright (c) mmwsss contributors. All rights reserved.
import os

import numpy as np
import pytest
import torch

from mmwsss.utils.processes import fork_map


def _where(item):
    return item, os.getpid(), torch.get_num_threads()


def test_fork_map_keeps_order_in_single_threaded_workers():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        results = fork_map(_where, range(6), 2)
    finally:
        torch.set_num_threads(before)
    assert [item for item, _, _ in results] == list(range(6))
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert {threads for _, _, threads in results} == {1}


def test_fork_map_takes_closures_and_runs_here_without_workers():
    image = np.arange(12.).reshape(3, 4)

    def scaled(factor):  # a closure: not picklable
        return image * factor

    for workers in (0, 1, 3):
        results = fork_map(scaled, [1, 2], workers)
        np.testing.assert_array_equal(results[1], image * 2)
    # one item or one worker: no fork
    ((_, pid, _), ) = fork_map(_where, [0], 4)
    assert pid == os.getpid()
    assert fork_map(_where, [], 2) == []


def test_fork_map_reports_worker_errors():

    def fail(item):
        raise ValueError(f'bad item {item}')

    with pytest.raises(ValueError, match='bad item'):
        fork_map(fail, [1, 2], 2)
    # the task is cleared: the next call works
    assert fork_map(abs, [-1, -2], 2) == [1, 2]
