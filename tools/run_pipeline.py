# Copyright (c) mmwsss contributors. All rights reserved.
"""Run a pipeline config: a declared chain of tool runs, e.g. from image
labels to a trained segmenter (``configs/pipelines/``).

Every stage runs the standard tool (``tools/train.py``, ``tools/test.py``
or a ``tools/`` script) in a process of its own and prints its exact
command line (on CPU, forked from one that imported the tools' modules
once; ``--no-preload``: a new process).
Stages that are up to date are skipped, so rerunning the same command
after an interruption finishes the pipeline; a stage whose config or
inputs changed reruns, and so do the stages that consume its outputs.
Each stage writes into ``<work-dir>/<stage>/``; ``<work-dir>/summary.json``
holds every stage's metrics, time and outputs.

Examples::

    python tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-demo.py
    python tools/run_pipeline.py PIPELINE --from pseudo_masks
    python tools/run_pipeline.py PIPELINE --launcher pytorch --gpus 4 \\
        --cfg-options stages.cam.cfg_options.train_cfg.max_epochs=5

With ``--launcher slurm`` each train/test stage goes through ``srun`` on
the partition ``--partition`` (or ``$PARTITION``); ``GPUS_PER_NODE`` (8),
``CPUS_PER_TASK`` (5) and ``SRUN_ARGS`` are read from the environment as
by ``tools/slurm_train.sh``.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import DictAction

from mmwsss.apis import (Launcher, PipelineError, PipelineRunner,
                         load_pipeline, select_stages)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('pipeline', help='pipeline config')
    parser.add_argument(
        '--work-dir',
        help='folder of the stages and the summary (default: the config\'s '
        'work_dir, else work_dirs/<pipeline config name>)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='how train/test stages are started')
    parser.add_argument(
        '--gpus', type=int, default=1, help='processes (GPUs) per stage')
    parser.add_argument(
        '--partition',
        default=os.environ.get('PARTITION'),
        help='Slurm partition (--launcher slurm)')
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        '--stages',
        type=lambda text: text.split(','),
        help='comma-separated stages to run (the others must have run)')
    which.add_argument(
        '--from', dest='start', help='run this stage and the ones after it')
    parser.add_argument(
        '--force',
        action='store_true',
        help='rerun the selected stages even when they are up to date')
    parser.add_argument(
        '--device',
        choices=['auto', 'cpu', 'cuda'],
        default='auto',
        help='auto: the tools use a GPU when torch sees one; cpu: GPUs '
        'hidden from them; cuda: stop unless torch sees a GPU')
    parser.add_argument(
        '--verbose',
        action='store_true',
        help='show every line the tools print (default: their progress '
        'lines; everything is in <work-dir>/<stage>/run.log)')
    parser.add_argument(
        '--no-preload',
        action='store_true',
        help='start each stage as a new Python process (default: the '
        'stages that see no CUDA device run in forked children of a '
        'process that imported the tools\' modules once, saving their '
        'imports, about 6 s per stage on 2 cores)')
    parser.add_argument(
        '--no-report',
        action='store_true',
        help='do not write <work-dir>/report.html at the end (see '
        'tools/analysis/report.py)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the pipeline config, e.g. '
        'stages.cam.cfg_options.train_cfg.max_epochs=1')
    return parser.parse_args(argv)


def device_env(device: str) -> dict:
    """Environment variables that make the tools use ``device``."""
    if device == 'cpu':
        return dict(CUDA_VISIBLE_DEVICES='')
    if device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            raise PipelineError('--device cuda, but torch sees no CUDA device')
    return {}


def main(argv=None) -> dict:
    """Entry point; returns the summary."""
    args = parse_args(argv)
    try:
        cfg, stages = load_pipeline(args.pipeline, args.cfg_options)
        work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
            'work_dirs', osp.splitext(osp.basename(args.pipeline))[0])
        launcher = Launcher(
            kind=args.launcher,
            gpus=args.gpus,
            partition=args.partition,
            gpus_per_node=int(os.environ.get('GPUS_PER_NODE', 8)),
            cpus_per_task=int(os.environ.get('CPUS_PER_TASK', 5)),
            srun_args=os.environ.get('SRUN_ARGS', '').split())
        runner = PipelineRunner(
            stages,
            work_dir,
            ROOT,
            launcher=launcher,
            env=device_env(args.device),
            verbose=args.verbose,
            name=args.pipeline,
            preload=not args.no_preload)
        summary = runner.run(
            select_stages(stages, args.stages, args.start), force=args.force)
    except PipelineError as error:
        sys.exit(f'run_pipeline: {error}')
    except KeyboardInterrupt:
        sys.exit('run_pipeline: interrupted; the same command goes on from '
                 'where it stopped')
    if not args.no_report:
        write_run_report(work_dir)
    return summary


def write_run_report(work_dir: str) -> None:
    """Write ``<work_dir>/report.html`` and print its path; a report that
    cannot be made is a warning, never a failed pipeline."""
    from mmwsss.visualization.report import write_report
    try:
        path = write_report(work_dir)
    except Exception as error:  # the outputs are made; only the page failed
        print(f'run_pipeline: no report ({type(error).__name__}: {error}); '
              f'try python tools/analysis/report.py {work_dir}')
        return
    print(f'report: {path}')


if __name__ == '__main__':
    main()
