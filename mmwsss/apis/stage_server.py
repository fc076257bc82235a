# Copyright (c) mmwsss contributors. All rights reserved.
"""Start a pipeline's tool processes from one that has imported them.

Each stage of a pipeline is a tool's command line (``python tools/test.py
CONFIG ...``), and a new Python process spends seconds importing torch,
mmcv, mmengine and the three host codebases before the tool does anything
(about 6 s on a 2-core CPU, for each of the demo's nine stages). A stage
server imports them once; for each stage it forks a child that runs the
tool as ``python TOOL ARGS`` would: the same arguments, working directory
and environment, its output (and that of its own subprocesses) on the
pipe the runner reads, the tool's exit status as the child's.

The fork carries over what the imports did and nothing else: no thread
pool has started (OpenMP's starts at the first parallel op; the OpenBLAS
threads of numpy and scipy are restarted by OpenBLAS after a fork), no
random generator is shared (the child reseeds Python's, numpy's and torch's
from the system, as a new process does), and CUDA is never initialised by
the server: the runner only uses one for stages that see no CUDA device
(a fork cannot use a CUDA context of its parent).

:class:`StageServer` starts it (:func:`main`, given a ``SOCK_SEQPACKET``
Unix socket's file descriptor).
"""
import atexit
import importlib
import json
import os
import os.path as osp
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import Dict, List, Optional

# What the tools and their configs import beyond mmwsss (each host's
# register_all_modules, without setting a default scope).
PRELOADED = tuple(
    f'{host}.{part}' for host in ('mmdet', 'mmpretrain', 'mmseg')
    for part in ('datasets', 'engine', 'evaluation', 'models',
                 'visualization')) + ('mmengine.runner', )
# The longest request: a command and an environment.
_MAX_MESSAGE = 1 << 20


def _send(sock: socket.socket, message: dict, fds=()) -> None:
    socket.send_fds(sock, [json.dumps(message).encode()], list(fds))


def _receive(sock: socket.socket):
    """A message and the file descriptors sent with it; (None, []) once the
    other end is closed."""
    data, fds, _, _ = socket.recv_fds(sock, _MAX_MESSAGE, 1)
    if not data:
        return None, fds
    return json.loads(data), fds


def _exit_status(code) -> int:
    """What Python exits with for ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_tool(argv: List[str], cwd: str, env: Dict[str, str]) -> int:
    """Run ``python ARGV`` in this (forked) process, as Python runs a
    script; its exit status.

    Args:
        argv (list[str]): The script and its arguments.
        cwd (str): Working directory.
        env (dict): The environment, whole.

    Returns:
        int: The exit status.
    """
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    script = osp.abspath(argv[0])
    sys.argv = list(argv)
    # python SCRIPT puts the script's folder first, where the server's
    # python -c put the working directory; PYTHONPATH and the rest are the
    # server's, whose environment is the tools'.
    sys.path[0] = osp.dirname(script)
    _reseed()
    try:
        runpy.run_path(script, run_name='__main__')
        status = 0
    except SystemExit as error:
        status = _exit_status(error.code)
    except KeyboardInterrupt as error:
        _print_traceback(error, script)
        status = 128 + signal.SIGINT
    except BaseException as error:
        _print_traceback(error, script)
        status = 1
    # Python's own ending: wait for non-daemon threads, then atexit.
    threading._shutdown()
    atexit._run_exitfuncs()
    return status


def _print_traceback(error: BaseException, script: str) -> None:
    """Print the traceback of ``error`` from the script's frame on, as
    Python prints it for a script."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__)


def _reseed() -> None:
    """New random states from the system, as a new process has."""
    import random

    import numpy as np
    import torch
    random.seed()
    np.random.seed()
    torch.seed()


def _serve_one(conn: socket.socket, request: dict, out_fd: int) -> None:
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            conn.close()
            os.dup2(out_fd, 1)
            os.dup2(out_fd, 2)
            os.close(out_fd)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            status = run_tool(request['argv'], request['cwd'],
                              request['env'])
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass
            os._exit(status)
    os.close(out_fd)
    try:
        _send(conn, dict(pid=pid))
    finally:
        # the tool's status, also for a runner gone meanwhile (its
        # send then fails and the server ends)
        _, wait_status = os.waitpid(pid, 0)
    _send(conn, dict(returncode=os.waitstatus_to_exitcode(wait_status)))


def main() -> None:
    """Preload, say ready, then run one tool per request until the runner
    closes the socket."""
    conn = socket.socket(fileno=int(sys.argv[-1]))
    # Ctrl-C reaches the runner and the tool (one process group); the
    # server ends when the runner closes the socket.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for module in PRELOADED:
        importlib.import_module(module)
    _send(conn, dict(ready=True))
    try:
        while True:
            request, fds = _receive(conn)
            if request is None:
                return
            _serve_one(conn, request, fds[0])
    except (BrokenPipeError, ConnectionResetError):
        return  # the runner has gone


class StageProcess:
    """A tool run by a :class:`StageServer`, used like ``subprocess.Popen``
    with ``stdout=PIPE, stderr=STDOUT, text=True``: read ``stdout`` to its
    end, then :meth:`wait`."""

    def __init__(self, conn: socket.socket, stdout_fd: int):
        self._conn = conn
        self.returncode: Optional[int] = None
        self.stdout = open(stdout_fd, encoding='utf-8', errors='replace')
        message, _ = _receive(conn)
        if message is None:
            raise RuntimeError('the stage server ended before starting the '
                               'tool')
        self.pid = message['pid']

    def wait(self) -> int:
        """The tool's exit status (negative: killed by that signal)."""
        if self.returncode is None:
            message, _ = _receive(self._conn)
            if message is None:
                raise RuntimeError('the stage server ended while the tool '
                                   f'(pid {self.pid}) ran')
            self.returncode = message['returncode']
            self.stdout.close()
        return self.returncode


class StageServer:
    """A process that has imported the tools' modules and forks a child
    per tool run (see the module's docstring).

    Args:
        python (str): The interpreter (the one of the stages' commands).
        cwd (str): Where it starts (the stages' working directory, so that
            it imports the same ``mmwsss``).
        env (dict): Its environment: the stages' (the OpenMP settings,
            read once when torch loads, are those of the stages).
        log_file (str): Where its own output goes (import warnings, an
            error that stops it).
    """

    def __init__(self, python: str, cwd: str, env: Dict[str, str],
                 log_file: str):
        start = time.perf_counter()
        self._conn, theirs = socket.socketpair(socket.AF_UNIX,
                                               socket.SOCK_SEQPACKET)
        with open(log_file, 'a') as log:
            self._proc = subprocess.Popen(
                [
                    python, '-c', 'from mmwsss.apis.stage_server import '
                    'main; main()',
                    str(theirs.fileno())
                ],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=[theirs.fileno()])
        theirs.close()
        message, _ = _receive(self._conn)
        if message is None:
            self._proc.wait()
            raise RuntimeError(
                f'the stage server exited ({self._proc.returncode}) before '
                f'it was ready; see {log_file}')
        #: Seconds it took to start (its imports).
        self.start_seconds = round(time.perf_counter() - start, 1)
        self._tool: Optional[StageProcess] = None

    def popen(self, command: List[str], cwd: str,
              env: Dict[str, str]) -> StageProcess:
        """Start ``command`` (``[python, SCRIPT, *args]``, ``python`` the
        server's) in a child of the server.

        Returns:
            StageProcess: The running tool.
        """
        read_fd, write_fd = os.pipe()
        try:
            _send(self._conn,
                  dict(argv=command[1:], cwd=cwd, env=dict(env)), [write_fd])
        finally:
            os.close(write_fd)
        self._tool = StageProcess(self._conn, read_fd)
        return self._tool

    def close(self) -> None:
        """End the server. A tool still running (the runner stopped on an
        error of its own) goes on, as a new process would, and the server
        ends after it."""
        self._conn.close()
        if self._tool is None or self._tool.returncode is not None:
            self._proc.wait()

