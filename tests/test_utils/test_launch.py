# Copyright (c) mmwsss contributors. All rights reserved.
"""Teardown of the distributed tools (``mmwsss.utils.launch``)."""
import json
import os
import subprocess
import sys

import pytest

from mmwsss.testing import free_port
from mmwsss.utils.launch import live_gloo_threads, shutdown_distributed

# A one-process gloo group as tools/test.py builds it: a DDP-wrapped model
# held by a runner, a last object collective and a barrier, then the
# shutdown with or without the runner.
SCRIPT = """
import json, sys, types
import torch
import torch.distributed as dist
from mmengine.model import MMDistributedDataParallel
from mmwsss.utils.launch import live_gloo_threads, shutdown_distributed

dist.init_process_group('gloo')
runner = types.SimpleNamespace(model=MMDistributedDataParallel(
    torch.nn.Linear(2, 2), device_ids=None))
gathered = [None]
dist.all_gather_object(gathered, {'rank': 0})
dist.barrier()
before = live_gloo_threads()
shutdown_distributed(runner if sys.argv[1] == 'runner' else None)
print(json.dumps(dict(
    before=before, after=live_gloo_threads(),
    initialized=dist.is_initialized(),
    unwrapped=type(runner.model) is torch.nn.Linear)))
"""


def _shutdown_in_subprocess(mode: str) -> dict:
    env = dict(
        os.environ,
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(free_port()),
        RANK='0',
        WORLD_SIZE='1',
        LOCAL_RANK='0',
        OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-c', SCRIPT, mode],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return (json.loads(proc.stdout.strip().splitlines()[-1]),
            proc.stdout + proc.stderr)


@pytest.mark.slow
@pytest.mark.skipif(
    not sys.platform.startswith('linux'), reason='reads /proc/self/task')
def test_shutdown_joins_gloo_threads_before_exit():
    # Threads that outlive the interpreter abort the process at exit
    # ("terminate called without an active exception").
    result, _ = _shutdown_in_subprocess('runner')
    assert 'pt_gloo_runloop' in result['before']
    assert result['after'] == []
    assert result['unwrapped'] and not result['initialized']

    # While the DDP wrapper is alive it holds the group: destroying the
    # group alone leaves gloo running, and the shutdown says so.
    result, log = _shutdown_in_subprocess('no_runner')
    assert 'pt_gloo_runloop' in result['after']
    assert not result['initialized']
    assert 'gloo threads outlive destroy_process_group' in log


def test_shutdown_without_a_group_is_a_no_op():
    shutdown_distributed()
    assert isinstance(live_gloo_threads(), list)
