# Copyright (c) mmwsss contributors. All rights reserved.
"""Run a pipeline (:mod:`mmwsss.apis.pipeline`): each stage as the standard
tool's command line in a subprocess, skipping the stages that are up to
date, then a summary of every stage's metrics, time and outputs."""
import fcntl
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from mmwsss.testing import free_port
from .pipeline import (CHECKPOINT, RECORD_FILE, STAGE_TOOLS, STARTED_FILE,
                       PipelineError, Stage, describe_output,
                       flatten_cfg_options, intact_record, read_json,
                       resolve, stage_fingerprint, write_json)
from .stage_server import StageServer

SUMMARY_FILE = 'summary.json'
# Held by the run using a work dir.
LOCK_FILE = '.lock'
# Lines of a tool's output shown while it runs (all go to the stage log):
# mmengine's progress and metric lines and errors.
_PROGRESS_MARKS = ('Epoch(', 'Iter(', 'mIoU', 'Error', 'Traceback')
# OpenMP's short spin, as tools/train.py and tools/test.py set it before
# torch loads: every stage gets it, so that a stage server's torch (loaded
# once for all stages) spins as each tool's own would.
_OPENMP_SHORT_SPIN = dict(GOMP_SPINCOUNT='10000', KMP_BLOCKTIME='0')


@dataclass
class Launcher:
    """How train and test stages are started (script stages always run as
    one plain process).

    Args:
        kind (str): ``'none'`` (one process), ``'pytorch'``
            (``torch.distributed.run`` on this machine, a free rendezvous
            port per stage) or ``'slurm'`` (``srun``).
        gpus (int): Processes (GPUs) per stage. Defaults to 1.
        partition (str, optional): Slurm partition (slurm only).
        gpus_per_node (int): Slurm GPUs per node. Defaults to 8.
        cpus_per_task (int): Slurm CPUs per task. Defaults to 5.
        srun_args (Sequence[str]): Further ``srun`` options.
    """

    kind: str = 'none'
    gpus: int = 1
    partition: Optional[str] = None
    gpus_per_node: int = 8
    cpus_per_task: int = 5
    srun_args: Sequence[str] = ()

    def __post_init__(self):
        if self.kind not in ('none', 'pytorch', 'slurm'):
            raise PipelineError(f'unknown launcher {self.kind!r}')
        if self.kind == 'none' and self.gpus != 1:
            raise PipelineError(
                f'{self.gpus} GPUs need --launcher pytorch (or slurm)')
        if self.kind == 'slurm' and not self.partition:
            raise PipelineError('--launcher slurm needs a partition')

    def wrap(self, python: str, tool_args: List[str],
             job_name: str) -> List[str]:
        """The command line that runs ``tool_args`` (a tool and its
        arguments) with this launcher.

        Args:
            python (str): The Python interpreter.
            tool_args (list[str]): ``['tools/train.py', CONFIG, ...]``.
            job_name (str): Slurm job name.

        Returns:
            list[str]: The command.
        """
        if self.kind == 'none':
            return [python, *tool_args]
        if self.kind == 'pytorch':
            return [
                python, '-m', 'torch.distributed.run', '--nproc_per_node',
                str(self.gpus), '--master_port',
                str(free_port()), *tool_args, '--launcher', 'pytorch'
            ]
        per_node = min(self.gpus, self.gpus_per_node)
        return [
            'srun', '-p', self.partition, f'--job-name={job_name}',
            f'--gres=gpu:{per_node}', f'--ntasks={self.gpus}',
            f'--ntasks-per-node={per_node}',
            f'--cpus-per-task={self.cpus_per_task}', '--kill-on-bad-exit=1',
            *self.srun_args, python, '-u', *tool_args, '--launcher', 'slurm'
        ]


def format_cfg_value(value) -> str:
    """A ``--cfg-options`` value as mmengine's ``DictAction`` parses it
    back (``[a,b]`` lists, ``(a,b)`` tuples)."""
    if isinstance(value, list):
        return '[' + ','.join(format_cfg_value(v) for v in value) + ']'
    if isinstance(value, tuple):
        return '(' + ','.join(format_cfg_value(v) for v in value) + ')'
    return str(value)


def option_flags(options: dict) -> List[str]:
    """``--name value`` arguments of a stage's ``options``."""
    flags = []
    for name, value in options.items():
        flag = '--' + name.replace('_', '-')
        if value is None or value is False:
            continue
        if value is True:
            flags.append(flag)
        elif isinstance(value, (list, tuple)):
            flags += [flag, *map(str, value)]
        else:
            flags += [flag, str(value)]
    return flags


def stage_command(stage: Stage, stage_dir: str, launcher: Launcher,
                  python: str) -> List[str]:
    """The command line of a stage whose references are resolved.

    Args:
        stage (Stage): The stage, references resolved.
        stage_dir (str): Its folder (the tool's ``--work-dir``).
        launcher (Launcher): How train/test stages are started.
        python (str): The Python interpreter.

    Returns:
        list[str]: The command.
    """
    args = [str(arg) for arg in stage.args] + option_flags(stage.options)
    cfg_options = [
        f'{key}={format_cfg_value(value)}'
        for key, value in flatten_cfg_options(stage.cfg_options).items()
    ]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    if stage.kind == 'script':
        return [python, stage.script, *args]
    positional = [stage.config]
    if stage.kind == 'test':
        positional.append(stage.checkpoint)
    tool_args = [STAGE_TOOLS[stage.kind], *positional, '--work-dir',
                 stage_dir, *args]
    return launcher.wrap(python, tool_args, stage.name)


def last_logged(stage_dir: str, key: str, kind: str):
    """The value of ``key`` a tool logged in ``stage_dir``.

    Training: the last record of ``<stamp>/vis_data/scalars.json`` holding
    it; testing: the metrics of the latest finished test run
    (``<stamp>/<stamp>.json``).

    Returns:
        The value, or None if it was not logged.
    """
    if kind == 'train':
        value = None
        for path in sorted(
                glob.glob(osp.join(stage_dir, '*/vis_data/scalars.json'))):
            with open(path) as f:
                for line in f:
                    value = json.loads(line).get(key, value)
        return value
    stamps = sorted(d for d in os.listdir(stage_dir)
                    if osp.isfile(osp.join(stage_dir, d, d + '.json')))
    if not stamps:
        return None
    with open(osp.join(stage_dir, stamps[-1], stamps[-1] + '.json')) as f:
        return json.loads(f.readlines()[-1]).get(key)


def read_metric(stage: Stage, stage_dir: str, source: str):
    """One figure of a stage's summary (see ``metrics`` in
    :mod:`mmwsss.apis.pipeline`); None if it is not there."""
    output, _, key = source.partition(':')
    if key and output in stage.outputs:
        value = read_json(osp.join(stage_dir, stage.outputs[output]))
        for part in key.split('.'):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value
    if stage.kind == 'script':
        return None
    return last_logged(stage_dir, source, stage.kind)


def _format_metric(value) -> str:
    if isinstance(value, float):
        return f'{value:.2f}'
    return str(value)


class PipelineRunner:
    """Runs the stages of a pipeline in a work dir.

    Args:
        stages (Sequence[Stage]): The pipeline's stages, in order.
        work_dir (str): Where each stage gets its folder, and the summary.
        root (str): Repository root: the tools run there, and paths of the
            pipeline config are relative to it.
        launcher (Launcher, optional): How train/test stages are started.
            Defaults to one plain process.
        env (dict, optional): Extra environment variables of every stage
            (e.g. ``CUDA_VISIBLE_DEVICES``). Defaults to None.
        python (str): The Python interpreter. Defaults to this one.
        verbose (bool): Show every line of the tools' output instead of
            their progress lines. Defaults to False.
        stream (TextIO, optional): Where progress goes. Defaults to
            stdout.
        name (str): The pipeline's name in the summary. Defaults to ''.
        preload (bool): Start the Python tools of stages that see no CUDA
            device (one process each, ``python SCRIPT ...``) in children
            of a :class:`mmwsss.apis.stage_server.StageServer`, which
            imports their modules once instead of once per stage (about
            6 s per stage on 2 CPU cores). Defaults to True.
    """

    def __init__(self,
                 stages: Sequence[Stage],
                 work_dir: str,
                 root: str,
                 launcher: Optional[Launcher] = None,
                 env: Optional[Dict[str, str]] = None,
                 python: str = sys.executable,
                 verbose: bool = False,
                 stream: Optional[TextIO] = None,
                 name: str = '',
                 preload: bool = True):
        self.stages = list(stages)
        self.work_dir = osp.abspath(work_dir)
        self.root = osp.abspath(root)
        self.launcher = launcher or Launcher()
        self.env = dict(env or {})
        self.python = python
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.name = name
        self.preload = preload
        self._server: Optional[StageServer] = None
        self._server_tried = False
        # Writers that keep a fingerprint of their outputs refuse a folder
        # written with another one unless tools/test.py gets --overwrite.
        with open(osp.join(self.root, STAGE_TOOLS['test'])) as f:
            self.test_overwrites = '--overwrite' in f.read()

    def stage_dir(self, name: str) -> str:
        """The folder of stage ``name``."""
        return osp.join(self.work_dir, name)

    def log(self, message: str) -> None:
        """Print a line of the runner's progress."""
        print(message, file=self.stream, flush=True)

    def run(self,
            selected: Optional[Sequence[str]] = None,
            force: bool = False) -> dict:
        """Run the selected stages (all by default) that are not up to date.

        A stage runs when it has no record of a successful run, when its
        fingerprint changed (its config or the outputs it consumes) or
        when its outputs changed on disk since; with ``force``, always.
        Stages outside the selection are not run; their recorded outputs
        serve the selected ones.

        Args:
            selected (Sequence[str], optional): Stage names. Defaults to
                None (all).
            force (bool): Rerun the selected stages even when up to date.

        Returns:
            dict: The summary (also written to ``<work_dir>/summary.json``
            and printed as a table).
        """
        os.makedirs(self.work_dir, exist_ok=True)
        with open(osp.join(self.work_dir, LOCK_FILE), 'w') as lock:
            # Released by the system when this process ends, however.
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise PipelineError(
                    f'another pipeline run is using {self.work_dir}') from None
            self._server_tried = False
            try:
                return self._run_stages(
                    [s.name for s in self.stages]
                    if selected is None else list(selected), force)
            finally:
                if self._server is not None:
                    self._server.close()
                    self._server = None

    def _run_stages(self, selected: List[str], force: bool) -> dict:
        self.log(f'[pipeline] {len(selected)} of {len(self.stages)} stages '
                 f'in {self.work_dir}; commands run in {self.root}, with it '
                 'first on PYTHONPATH')
        paths: Dict[Tuple[str, str], str] = {}
        digests: Dict[str, str] = {}
        results: Dict[str, dict] = {}
        for index, stage in enumerate(self.stages, 1):
            header = f'[{index}/{len(self.stages)}] {stage.name}'
            if stage.name in selected:
                record, status = self._run_stage(stage, paths, digests,
                                                 force, header)
            else:
                record, status = intact_record(
                    self.stage_dir(stage.name)), 'not selected'
            if record is not None:
                for output, info in record['outputs'].items():
                    paths[(stage.name, output)] = osp.join(
                        self.stage_dir(stage.name), info['path'])
                    digests[f'{stage.name}.{output}'] = info['digest']
            results[stage.name] = self._stage_summary(stage, record, status)
        summary = dict(
            pipeline=self.name, work_dir=self.work_dir, stages=results)
        write_json(osp.join(self.work_dir, SUMMARY_FILE), summary)
        self._print_table(summary)
        return summary

    def _run_stage(self, stage: Stage, paths: dict, digests: dict,
                   force: bool, header: str) -> Tuple[dict, str]:
        """Skip or run one selected stage; its record and status."""
        stage_dir = self.stage_dir(stage.name)
        missing = [f'{s}.{o}' for s, o in stage.inputs()
                   if f'{s}.{o}' not in digests]
        if missing:
            raise PipelineError(
                f'stage {stage.name} needs {", ".join(missing)}, which has '
                f'no finished run in {self.work_dir}: run the stages before '
                'it first')
        inputs = {f'{s}.{o}': digests[f'{s}.{o}'] for s, o in stage.inputs()}
        fingerprint = stage_fingerprint(stage, self.root, inputs)
        record = intact_record(stage_dir)
        if record and record['fingerprint'] == fingerprint and not force:
            self.log(f'{header}: up to date, skipped')
            return record, 'skipped'
        started = read_json(osp.join(stage_dir, STARTED_FILE))
        # Only test stages resume within a stage (their writers skip the
        # items they already wrote); training and scripts start over, so
        # that an interrupted pipeline ends with the same files.
        # (A record of a finished run means the outputs were changed since
        # then, not left unfinished.)
        resume = (
            stage.kind == 'test' and not force and started is not None
            and started['fingerprint'] == fingerprint
            and not osp.isfile(osp.join(stage_dir, RECORD_FILE)))
        if resume:
            reason = 'resuming its interrupted run'
        elif force:
            reason = 'forced'
        elif record is None and osp.isfile(osp.join(stage_dir, RECORD_FILE)):
            reason = 'its outputs changed on disk'
        elif started is not None and started['fingerprint'] == fingerprint:
            reason = 'its run was interrupted, starting over'
        elif record is None:
            reason = 'no finished run'
        else:
            reason = 'its config or inputs changed'
        self.log(f'{header} ({stage.kind}): running, {reason}')
        if not resume:
            shutil.rmtree(stage_dir, ignore_errors=True)
        os.makedirs(stage_dir, exist_ok=True)
        write_json(
            osp.join(stage_dir, STARTED_FILE),
            dict(fingerprint=fingerprint, started=time.time()))

        own = {(stage.name, name): osp.join(stage_dir, path)
               for name, path in stage.outputs.items()}
        resolved = Stage(**{
            **stage.__dict__,
            **resolve(stage.command_values(), {**paths, **own})
        })
        command = stage_command(resolved, stage_dir, self.launcher,
                                self.python)
        # Only a stage with outputs has writers to clear (--overwrite needs
        # their ResumableTestLoop; an evaluation-only test, e.g. DeepLab's
        # on val, runs mmengine's TestLoop).
        if (stage.kind == 'test' and stage.outputs and not resume
                and self.test_overwrites):
            command.append('--overwrite')
        start = time.time()
        self._execute(command, osp.join(stage_dir, 'run.log'))
        seconds = round(time.time() - start, 1)

        outputs = dict(own)
        if stage.kind == 'train':
            outputs[(stage.name, CHECKPOINT)] = self._last_checkpoint(
                stage_dir)
        absent = [p for p in outputs.values() if not osp.exists(p)]
        if absent:
            raise PipelineError(f'stage {stage.name} finished without '
                                f'writing {", ".join(absent)}')
        record = dict(
            stage=stage.name,
            fingerprint=fingerprint,
            inputs=inputs,
            command=command,
            seconds=seconds,
            finished=time.strftime('%Y-%m-%d %H:%M:%S'),
            outputs={
                name: describe_output(path, stage_dir)
                for (_, name), path in outputs.items()
            })
        write_json(osp.join(stage_dir, RECORD_FILE), record)
        os.remove(osp.join(stage_dir, STARTED_FILE))
        self.log(f'{header}: done in {seconds} s')
        return record, 'ran'

    @staticmethod
    def _last_checkpoint(stage_dir: str) -> str:
        pointer = osp.join(stage_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            raise PipelineError(f'training in {stage_dir} saved no '
                                'checkpoint (no last_checkpoint)')
        with open(pointer) as f:
            return osp.join(stage_dir, f.read().strip())

    def _execute(self, command: List[str], log_file: str) -> None:
        """Run ``command`` in the repository root, its output into
        ``log_file`` (appended: a resumed stage keeps the earlier lines)
        and its progress lines (every line if verbose) onto the stream."""
        env = self._stage_env()
        shown_env = ' '.join(f'{k}={shlex.quote(v)}'
                             for k, v in self.env.items())
        self.log(f'$ {shown_env + " " if shown_env else ""}'
                 f'{shlex.join(command)}')
        with open(log_file, 'a') as log:
            log.write(f'$ {shlex.join(command)}\n')
            proc = self._start(command, env)
            for line in proc.stdout:
                log.write(line)
                if self.verbose or any(m in line for m in _PROGRESS_MARKS):
                    self.log('  ' + line.rstrip()[-160:])
            code = proc.wait()
        if code != 0:
            with open(log_file) as f:
                tail = ''.join(f.readlines()[-20:])
            raise PipelineError(f'the command failed (exit code {code}); '
                                f'last lines of {log_file}:\n{tail}')

    def _stage_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        env['PYTHONPATH'] = self.root + os.pathsep + env.get('PYTHONPATH', '')
        # Lines as they are printed (a pipe would buffer them).
        env['PYTHONUNBUFFERED'] = '1'
        if 'OMP_WAIT_POLICY' not in env:
            for key, value in _OPENMP_SHORT_SPIN.items():
                env.setdefault(key, value)
        env.update(self.env)
        return env

    def _start(self, command: List[str], env: Dict[str, str]):
        """Start ``command``: from the stage server where it can run
        there, else as a new process."""
        server = None
        if (command[0] == self.python and len(command) > 1
                and command[1].endswith('.py')):
            server = self._stage_server(env)
        if server is not None:
            try:
                return server.popen(command, self.root, env)
            except (OSError, RuntimeError) as error:
                self.log(f'[pipeline] the stage server failed ({error}): '
                         'each stage from now runs as its own process')
                self._server.close()
                self._server = None
        return subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True)

    def _stage_server(self, env: Dict[str, str]) -> Optional[StageServer]:
        """The run's stage server, started at its first use; None where
        stages run as their own processes: ``preload`` is off, the stages
        see a CUDA device, or the server could not start (logged)."""
        if self._server_tried or not self.preload:
            return self._server
        self._server_tried = True
        if env.get('CUDA_VISIBLE_DEVICES') != '':
            import torch
            if torch.cuda.is_available():
                return None
        log_file = osp.join(self.work_dir, 'stage_server.log')
        try:
            self._server = StageServer(self.python, self.root, env,
                                       log_file)
        except (OSError, RuntimeError) as error:
            self.log(f'[pipeline] no stage server ({error}): each stage '
                     'runs as its own process')
            return None
        self.log('[pipeline] the Python tools of the stages run in forked '
                 'children of a process that imported their modules once '
                 f'({self._server.start_seconds} s; --no-preload: a new '
                 'process per stage)')
        return self._server

    def _stage_summary(self, stage: Stage, record: Optional[dict],
                       status: str) -> dict:
        stage_dir = self.stage_dir(stage.name)
        entry = dict(kind=stage.kind, status=status)
        if record is None:
            return entry
        entry['seconds'] = record['seconds']
        entry['outputs'] = {
            name: osp.join(stage_dir, info['path'])
            for name, info in record['outputs'].items()
        }
        entry['metrics'] = {
            name: read_metric(stage, stage_dir, source)
            for name, source in stage.metrics.items()
        }
        return entry

    def _print_table(self, summary: dict) -> None:
        rows = [('stage', 'status', 'seconds', 'metrics')]
        for name, entry in summary['stages'].items():
            metrics = ', '.join(
                f'{key} {_format_metric(value)}'
                for key, value in entry.get('metrics', {}).items()
                if not isinstance(value, dict))
            rows.append((name, entry['status'],
                         str(entry.get('seconds', '-')), metrics))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.log('')
        for row in rows:
            self.log('  '.join(cell.ljust(width)
                               for cell, width in zip(row, widths)) +
                     '  ' + row[3])
        self.log(f'\noutputs: {self.work_dir}/<stage>/; summary: '
                 f'{osp.join(self.work_dir, SUMMARY_FILE)}')
