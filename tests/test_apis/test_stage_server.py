# Copyright (c) mmwsss contributors. All rights reserved.
"""A stage server runs a script as ``python SCRIPT ARGS`` would: arguments,
working directory, environment, output, exit status, random states."""
import os
import os.path as osp
import sys

import pytest

from mmwsss.apis.stage_server import StageServer

SCRIPT = '''
import atexit, os, subprocess, sys, threading, time
import numpy as np
import torch
print('argv', sys.argv[1:])
print('cwd', os.getcwd())
print('path0', sys.path[0])
print('mark', os.environ.get('STAGE_MARK'))
print('random', np.random.randint(1 << 30), torch.randint(1 << 30, ()).item())
sys.stdout.flush()
subprocess.run(['echo', 'from a subprocess'])
os.write(2, b'to stderr\\n')
threading.Thread(
    target=lambda: (time.sleep(0.2), print('thread joined', flush=True))
).start()
atexit.register(lambda: print('atexit ran', flush=True))
action = sys.argv[1]
if action == 'exit':
    sys.exit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
if action == 'raise':
    raise ValueError('broken input')
if action == 'signal':
    os.kill(os.getpid(), 15)
'''


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('stage_server')
    script = tmp / 'tools' / 'tool.py'
    script.parent.mkdir()
    script.write_text(SCRIPT)
    env = dict(os.environ, STAGE_MARK='marked', PYTHONUNBUFFERED='1')
    server = StageServer(sys.executable, os.getcwd(), env,
                         str(tmp / 'server.log'))
    yield dict(server=server, script=str(script), tmp=str(tmp), env=env)
    server.close()
    assert server._proc.returncode == 0


def run(served, *args):
    proc = served['server'].popen(
        [sys.executable, served['script'], *args], served['tmp'],
        served['env'])
    output = proc.stdout.read()
    return proc.wait(), output


def test_runs_a_script_as_python_does(served):
    code, output = run(served, 'ok', '--flag')
    assert code == 0
    lines = output.splitlines()
    assert lines[:4] == [
        "argv ['ok', '--flag']", f'cwd {served["tmp"]}',
        f'path0 {osp.dirname(served["script"])}', 'mark marked'
    ]
    # its subprocesses' output and raw writes to fd 2 come through; Python's
    # ending waits for the thread, then runs atexit
    assert lines[5:] == [
        'from a subprocess', 'to stderr', 'thread joined', 'atexit ran'
    ]


def test_exit_statuses(served):
    assert run(served, 'exit', '3')[0] == 3
    code, output = run(served, 'exit', 'stopped: bad config')
    assert code == 1 and 'stopped: bad config' in output
    code, output = run(served, 'raise')
    assert code == 1
    traceback = output[output.index('Traceback'):].splitlines()
    # from the script's frame on, as for python SCRIPT
    assert traceback[1].startswith(f'  File "{served["script"]}"')
    assert traceback[3:] == [
        'ValueError: broken input', 'thread joined', 'atexit ran'
    ]
    assert run(served, 'signal')[0] == -15


def test_each_run_draws_new_random_states(served):
    """As new processes do: a seed drawn with randomness.seed=None (numpy)
    or torch's default generator differ from run to run."""
    draws = [
        next(line for line in run(served, 'ok')[1].splitlines()
             if line.startswith('random')) for _ in range(2)
    ]
    assert draws[0] != draws[1]
