# Copyright (c) mmwsss contributors. All rights reserved.
"""Throughput of every stage: images per second per thread setting.

Each stage runs as a user runs it: its SynthVOC config (random weights,
``load_from`` dropped) through mmengine's runner, its real dataloader and
test pipeline (image decoding, CAM files, label maps), its writers and
metrics, on a SynthVOC generated at the measured size (BBAM's random
detector is made to recognise every object, :func:`recognised_objects`:
otherwise it finds no positive proposal and skips its optimisation). Test
stages run over
the train split (what a pseudo-label job processes); training stages run a
few iterations of their train loop. Chained stages read what their upstream
stage wrote in this run (CAM files -> IR labels -> IRNet training; random
walk -> DeepLab training; PSA labels -> AffinityNet training).

For every stage and every setting of ``--threads`` x ``--workers`` (torch
intra-op threads x dataloader workers; for the CRF label stages and BBAM
the threads are also the CRF processes), plus the default setting that the
tools choose on this machine (:func:`mmwsss.utils.threads.plan_threads`;
where a training run tries loading in its workers and in the main process
for an epoch each and keeps the faster, the faster of the two; a test job
that tries both places, ``mmwsss.ResumableTestLoop(loading='fastest')``,
runs so, shown as ``tT/trial``, where the job reaches the trial's
``MIN_TRIAL_JOB`` batches (a shorter job loads in its workers, and its
default is that ``tT/wW`` setting, not a second, noisier run of the same
code); where the trial ran, the place it kept and its two timings are
printed and go into the json as ``trials``, one per round), it reports
images per second, counted from the end of the first batch to the end of
the last (warm-up, runner building and worker start excluded), and the peak
resident memory of the main process above its memory before the runner was
built (Linux ``VmHWM``; the dataloader and CRF workers are separate
processes and not included; glibc's free heap is returned to the system
before each setting). The ``default/best`` column is the default setting's
figure over the best one's. With a few images per stage one run varies by
about 15 % from the next (CAM inference at SynthVOC size, 2 threads and 0
workers: 6.0 and 7.2 images/s in two runs), more than the settings differ:
``--rounds N`` runs every setting N times, alternated, and reports the
median.

``--baselines`` adds the reference loop structures of
``benchmarks/advcam.py``, ``benchmarks/bbam.py`` and
``benchmarks/random_walk.py`` (imported, same settings) next to mmwsss' code
in the same process.

Sizes: ``synthvoc`` (sides 96-192, the bundled benchmark), ``voc`` (sides
375-500, PASCAL VOC's) and ``tiny`` (64-96, for ``--quick``). ``--quick``
runs the tiny size with narrow models, 4 images and the iterative methods
cut to 2 steps, in a few minutes on 2 cores; the full run is meant for idle
cores::

    python benchmarks/stages.py --quick --out stages_quick.json
    python benchmarks/stages.py --sizes synthvoc voc --baselines \\
        --rounds 3 --out stages.json
    python benchmarks/stages.py --stages cam random_walk --threads 1 \\
        --workers 0
"""
import argparse
import contextlib
import itertools
import json
import logging
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import List, Optional
from unittest import mock

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from peak_memory import PeakMemory  # noqa: E402

from mmwsss.engine.runner import resumable_test_loop  # noqa: E402
from mmwsss.models.bbam import attributor  # noqa: E402
from mmwsss.utils.launch import (  # noqa: E402
    build_runner, rebase_paths, resolve_work_dir_placeholders)
from mmwsss.utils.threads import (  # noqa: E402
    add_channels_last_hook, available_cores, omp_spinning, plan_threads,
    tries_main_process_loading, tries_main_process_test_loading)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: The ``workers`` of a test job's default setting that tries both loading
#: places (its loader has the planned workers).
TRIAL = 'trial'
#: min and max image side of each size
SIZES = dict(tiny=(64, 96), synthvoc=(96, 192), voc=(375, 500))

_CAM_PIPELINE = """[dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=6),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5, 1.5, 2.0)),
    dict(type='mmwsss.PackCAMInputs')]"""


def _cam_file_pipeline(maps: str) -> str:
    return f"""[dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir='{{cams}}',
         arrays=('keys', '{maps}')),
    dict(type='mmwsss.LoadLabelMap', num_classes=6),
    dict(type='mmwsss.PackCAMInputs')]"""


_CAM = """
test_dataloader = dict(dataset=dict(data_root='{data}',
                       pipeline=""" + _CAM_PIPELINE + """))
test_evaluator = [dict(type='mmwsss.CAMWriter', output_dir='{out}'),
                  dict(type='mmwsss.CAMSeedMetric')]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
"""
_LABEL = """
test_dataloader = dict(dataset=dict(data_root='{data}',
                       pipeline=""" + _cam_file_pipeline('high_res') + """))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{out}'),
                  dict(type='mmwsss.IRLabelMetric')]
"""
_WALK = """
test_dataloader = dict(dataset=dict(data_root='{data}',
                       pipeline=""" + _cam_file_pipeline('strided') + """))
"""
_SEMANTIC_WALK = _WALK + """
test_evaluator = [dict(type='mmwsss.PseudoMaskWriter', output_dir='{out}'),
                  dict(type='mmwsss.PseudoMaskMetric')]
"""
_INSTANCE_WALK = _WALK + """
test_evaluator = [
    dict(type='mmwsss.InstancePseudoMaskWriter', output_dir='{out}',
         ann_file='{out}.json',
         source_ann_file='{data}/annotations/instances_train.json'),
    dict(type='mmwsss.InstancePseudoMaskMetric',
         instance_dir='{data}/SegmentationObject')]
"""
_BBAM = """
test_dataloader = dict(dataset=dict(data_root='{data}'))
test_evaluator = [dict(type='mmwsss.BBAMWriter', output_dir='{out}')]
"""
# DeepLab's test split is val (2 images here): its train split instead.
_ON_TRAIN_SPLIT = """
test_dataloader = dict(dataset=dict(
    data_root='{data}', ann_file='ImageSets/Segmentation/train.txt'))
"""
_TRAIN = """
train_dataloader = dict(dataset=dict(data_root='{data}'))
"""

# Narrow models of --quick (the widths of tests/test_tools).
_NARROW_CLASSIFIER = """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))
"""
_NARROW_MOANA = """
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64),
             neck=dict(in_channels=64))
"""
_NARROW_IRNET = """
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64))
"""
_NARROW_DEEPLAB = """
model = dict(backbone=dict(base_channels=8), decode_head=dict(in_channels=64))
"""
_NARROW_DETECTOR = """
model = dict(detector=dict(backbone=dict(base_channels=8),
                           neck=dict(in_channels=[8, 16, 32, 64])))
"""


@contextlib.contextmanager
def recognised_objects():
    """Make a random detector recognise and locate every object, for BBAM.

    A detector with random weights classifies no jittered proposal as the
    object's class, so BBAM finds no positive proposal and skips the mask
    optimisation, the stage's work. While active, the selection of positive
    proposals sees each object's class win on all its proposals, with its
    box regressed onto the object: every object gets the capped number of
    positives (``max_positives``), as with a trained detector on the
    reference's 1000 jittered proposals, and so costs what it costs there.
    """
    select = attributor.select_positive_proposals

    def select_recognised(class_logits, decoded_boxes, gt_box, gt_label,
                          *args, **kwargs):
        logits = np.array(class_logits, dtype=np.float64)
        logits[:, gt_label] = logits.max(axis=1) + 1.0
        boxes = np.array(decoded_boxes, dtype=np.float64).reshape(
            len(logits), -1, 4)
        boxes[:, gt_label] = gt_box
        return select(logits, boxes, gt_box, gt_label, *args, **kwargs)

    with mock.patch.object(attributor, 'select_positive_proposals',
                           select_recognised):
        yield


class Stage:
    """One stage of the benchmark.

    Args:
        config (str): Its SynthVOC config, relative to ``configs/``.
        template (str): Config lines pointing it at ``{data}``, ``{out}``,
            ``{cams}``, ``{labels}``, ``{masks}``, ``{psa}``.
        train (bool): A training stage (else a test stage).
        narrow (str): Config lines of the narrow model of ``--quick``.
        quick (dict): Model settings of ``--quick`` (fewer iterations).
        needs (tuple[str]): Upstream stages whose outputs it reads.
        crf (str, optional): Its threads are also CRF processes
            (``model.num_workers``), which share the images of a batch
            (``'images'``, the label stages, see :func:`job_batch_size`)
            or the objects of each image (``'objects'``, BBAM). Defaults to
            None.
        context (callable): A context manager factory that the stage's runs
            are timed in (:func:`recognised_objects` for BBAM).
    """

    def __init__(self, config, template, train=False, narrow='', quick=None,
                 needs=(), crf=None, context=contextlib.nullcontext):
        self.config = config
        self.template = template
        self.train = train
        self.narrow = narrow
        self.quick = quick or {}
        self.needs = needs
        self.crf = crf
        self.context = context


STAGES = {
    'cam': Stage('cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py', _CAM,
                 narrow=_NARROW_CLASSIFIER),
    'moana': Stage('moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py', _CAM,
                   narrow=_NARROW_MOANA),
    'advcam': Stage('advcam/advcam_cam-r18w32-os16_synthvoc.py', _CAM,
                    narrow=_NARROW_CLASSIFIER, quick=dict(adv_iter=2)),
    'rib': Stage('rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py', _CAM,
                 narrow=_NARROW_CLASSIFIER, quick=dict(num_iters=2)),
    'ficklenet': Stage(
        'ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py', _CAM,
        narrow=_NARROW_CLASSIFIER, quick=dict(num_draws=3)),
    'gradcam': Stage('gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py', _CAM,
                     narrow=_NARROW_CLASSIFIER),
    'ir_label': Stage('irn/ir-label_r18w32-os16_synthvoc.py', _LABEL,
                      needs=('cam', ), crf='images'),
    'psa_label': Stage('psa/psa-label_r18w32-os16_synthvoc.py', _LABEL,
                       needs=('cam', ), crf='images'),
    'random_walk': Stage('irn/irnet-rw_r18w32_synthvoc.py', _SEMANTIC_WALK,
                         narrow=_NARROW_IRNET, needs=('cam', )),
    'instance_walk': Stage('irn/irnet-ins_r18w32_synthvoc.py',
                           _INSTANCE_WALK, narrow=_NARROW_IRNET,
                           needs=('cam', )),
    'bbam': Stage('bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py', _BBAM,
                  narrow=_NARROW_DETECTOR,
                  quick=dict(num_iters=2, num_proposals=50, max_positives=5),
                  crf='objects', context=recognised_objects),
    'deeplab': Stage(
        'deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py',
        _ON_TRAIN_SPLIT, narrow=_NARROW_DEEPLAB),
    'train_cam': Stage('cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
                       _TRAIN, train=True, narrow=_NARROW_CLASSIFIER),
    'train_moana': Stage(
        'moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py', _TRAIN,
        train=True, narrow=_NARROW_MOANA),
    'train_irnet': Stage(
        'irn/irnet_r18w32_1xb16-10e_synthvoc-128.py', _TRAIN + """
train_dataloader = dict(dataset=dict(ir_label_dir='{labels}'))
""", train=True, narrow=_NARROW_IRNET, needs=('ir_label', )),
    'train_affinitynet': Stage(
        'psa/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py', _TRAIN + """
train_dataloader = dict(dataset=dict(ir_label_dir='{psa}'))
""", train=True, needs=('psa_label', )),
    'train_deeplab': Stage(
        'deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py',
        _TRAIN + """
train_dataloader = dict(dataset=dict(pseudo_mask_dir='{masks}'))
""", train=True, narrow=_NARROW_DEEPLAB, needs=('random_walk', )),
}
#: ``--memory-format``: the ``channels_last`` of ``add_channels_last_hook``.
CHANNELS_LAST = {'config': None, 'channels-last': True, 'contiguous': False}

#: The output of each stage that a downstream stage reads, by field name.
OUTPUT_FIELDS = dict(cam='cams', ir_label='labels', psa_label='psa',
                     random_walk='masks')


def batch_images(data_batch: dict) -> int:
    """Images in a collated batch: its data samples, one per image (a
    multi-scale batch's ``inputs`` holds one list per scale)."""
    samples = data_batch.get('data_samples')
    return len(samples if samples is not None else data_batch['inputs'])


class BatchClock(Hook):
    """Records the end of every train/test iteration and its batch size."""

    priority = 'LOWEST'

    def __init__(self):
        self.ends: List[float] = []
        self.sizes: List[int] = []

    def _record(self, data_batch):
        self.ends.append(time.perf_counter())
        self.sizes.append(batch_images(data_batch))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self._record(data_batch)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self._record(data_batch)

    def images_per_second(self) -> Optional[float]:
        """Images after the first batch over the time they took."""
        if len(self.ends) < 2:
            return None
        return sum(self.sizes[1:]) / (self.ends[-1] - self.ends[0])


def drop_pretrained(node) -> None:
    """Random weights: remove ``Pretrained`` initialisers (e.g. the CAM
    checkpoint that IRNet's backbone starts from) throughout a model."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        elif isinstance(init, list):
            node['init_cfg'] = [
                one for one in init if one.get('type') != 'Pretrained'
            ] or None
        for value in node.values():
            drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            drop_pretrained(value)


def stage_config(name: str, stage: Stage, fields: dict, args, threads: int,
                 workers: int, work_dir: str) -> Config:
    """The stage's config for one setting."""
    text = f"_base_ = ['{osp.join(ROOT, 'configs', stage.config)}']\n"
    text += stage.template.format(**fields)
    if args.quick:
        text += stage.narrow
    path = osp.join(work_dir, f'{name}.py')
    with open(path, 'w') as f:
        f.write(text)
    cfg = Config.fromfile(path)
    # the folders the template does not name (RIB's auxiliary dataset...)
    rebase_paths(cfg, 'data/synthvoc', fields['data'])
    cfg.work_dir = work_dir
    # the outputs the template does not name ('{work_dir}/predictions'...)
    resolve_work_dir_placeholders(cfg)
    cfg.launcher = 'none'
    cfg.load_from = None
    drop_pretrained(cfg.model)
    cfg.randomness = dict(seed=0)
    cfg.default_hooks.checkpoint = None
    cfg.log_level = 'WARNING'
    if not stage.train:  # as tools/test.py (training runs as written)
        add_channels_last_hook(cfg, CHANNELS_LAST[args.memory_format])
    for key, value in stage.quick.items() if args.few_steps else ():
        cfg.model[key] = value
    loader = cfg.train_dataloader if stage.train else cfg.test_dataloader
    if workers == TRIAL:
        cfg.test_cfg.loading = 'fastest'
        workers = _plan(loader.num_workers, stage.train).workers
    if stage.crf:
        cfg.model.num_workers = threads if threads > 1 else 0
    if not stage.train:
        loader.batch_size = job_batch_size(stage, loader.batch_size,
                                            args.images)
    loader.num_workers = workers
    loader.persistent_workers = workers > 0
    if stage.train:
        loader.batch_size = args.train_batch
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.param_scheduler = None
        for hook in cfg.get('custom_hooks') or ():
            if 'dataloader' in hook:  # IRNet's displacement mean pass
                hook['dataloader']['batch_size'] = args.train_batch
        if 'max_epochs' in cfg.train_cfg:
            cfg.train_cfg.max_epochs = 1
        else:
            cfg.train_cfg.max_iters = args.images // args.train_batch
        cfg.train_cfg.pop('val_interval', None)
        cfg.train_cfg.pop('val_begin', None)
    test_cfg = cfg.get('test_cfg') or {}
    if test_cfg.get('type') == 'mmwsss.ResumableTestLoop':
        cfg.test_cfg.stop_on_error = True
    return cfg


def run_setting(name: str, stage: Stage, fields: dict, args, threads: int,
                workers: int, work_dir: str) -> dict:
    """One stage at one setting: images/s and peak memory."""
    os.makedirs(work_dir)
    fields = dict(fields, out=osp.join(work_dir, 'out'))
    torch.set_num_threads(threads)
    clock = BatchClock()
    with PeakMemory() as peak, stage.context():
        cfg = stage_config(name, stage, fields, args, threads, workers,
                           work_dir)
        runner = build_runner(cfg)
        runner.register_hook(clock)
        if stage.train:
            runner.train()
        else:
            runner.test()
    return dict(
        threads=threads,
        workers=workers,
        images_per_s=clock.images_per_second(),
        peak_mib=round(peak.mib, 1),
        trial=None if stage.train else trial_outcome(
            getattr(runner.test_loop, 'loading_choice', None)),
        out=fields['out'])


def trial_outcome(choice: Optional[dict]) -> Optional[dict]:
    """The place a test job's loading trial kept for the rest of the job
    and the seconds per million input values it measured in each place,
    from the loop's ``loading_choice``; None where the job ran no trial or
    ended before the trial did."""
    if choice is None or len(choice['seconds_per_value']) < 2:
        return None
    times = sorted(choice['seconds_per_value'].items())
    return dict(place=choice['place'],
                **{f'{place}_s': round(seconds * 1e6, 4)
                   for place, seconds in times})


def _plan(workers: int, train: bool):
    """The tools' plan for a loader of ``workers`` on this machine."""
    return plan_threads(
        available_cores(), 1, workers=workers, keep_workers=train,
        spinning=omp_spinning())


def job_batch_size(stage: Stage, batch_size: int, images: int) -> int:
    """The batch of a test stage over ``images`` images: the config's, but
    for a label stage with fewer than three of its batches (one timed
    after the untimed first) batches of two, which its CRF processes
    share. Each batch forks the CRF processes anew, so batches of two
    weigh the fork more than a real job's batches of 8 do: in SynthVOC-size
    runs (2 cores, 2026-12-07) 2 CRF processes were x1.2-1.3 as fast as one
    with batches of 8, and x0.8 (PSA) and x1.0 (IR) with batches of two."""
    if stage.crf == 'images' and images < 3 * batch_size:
        return 2
    return batch_size


def default_settings(stage: Stage, cfg: Config, images: int) -> List[tuple]:
    """(threads, workers) the tools choose on this machine for a job of
    ``images`` images; two where a training run tries both loading places
    and keeps the faster one; ``(threads, TRIAL)`` where a test job tries
    both places (it needs at least ``MIN_TRIAL_JOB`` batches)."""
    loader = cfg.train_dataloader if stage.train else cfg.test_dataloader
    plan = _plan(loader.num_workers, stage.train)
    if stage.train:
        if tries_main_process_loading(cfg, available_cores()):
            return [(plan.threads, plan.workers), (plan.threads, 0)]
        return [(plan.threads, plan.workers)]
    # the CRF processes of the tools' plan, for the stages that have them
    threads = max(plan.crf_workers, 1) if stage.crf else plan.threads
    batches = -(-images // job_batch_size(stage, loader.batch_size, images))
    if (batches >= resumable_test_loop.MIN_TRIAL_JOB
            and tries_main_process_test_loading(cfg, available_cores())):
        return [(threads, TRIAL)]
    return [(threads, plan.workers)]


def setting_name(threads: int, workers) -> str:
    """``tT/wW``, or ``tT/trial``."""
    return f't{threads}/' + ('trial' if workers == TRIAL else f'w{workers}')


def run_stage(name: str, stage: Stage, fields: dict, args,
              folder: str) -> dict:
    """Every setting of one stage, the default one among them."""
    defaults = default_settings(
        stage, Config.fromfile(osp.join(ROOT, 'configs', stage.config)),
        args.images)
    settings = list(itertools.product(args.threads, args.workers))
    settings += [setting for setting in defaults if setting not in settings]
    runs = {setting: [] for setting in settings}
    # Rounds alternate the settings, so that a slow spell of the machine
    # does not fall on one setting only.
    for turn in range(args.rounds):
        for threads, workers in settings:
            run = run_setting(
                name, stage, fields, args, threads, workers,
                osp.join(folder, f'{name}_t{threads}_w{workers}_r{turn}'))
            runs[threads, workers].append(run)
            trial = run['trial']
            print(f'  {name:18s} threads {threads} workers {workers}: '
                  f'{run["images_per_s"] or float("nan"):8.2f} img/s, '
                  f'{run["peak_mib"]:7.1f} MiB' + (
                      '' if trial is None else
                      f', trial kept {trial["place"]} (s per million '
                      f'values: main {trial["main_s"]}, workers '
                      f'{trial["workers_s"]})'), flush=True)
    rows = []
    for (threads, workers), setting_runs in runs.items():
        speeds = [run['images_per_s'] for run in setting_runs]
        rows.append(dict(
            threads=threads,
            workers=workers,
            images_per_s=None if None in speeds else statistics.median(
                speeds),
            rounds=speeds,
            trials=[run['trial'] for run in setting_runs],
            peak_mib=max(run['peak_mib'] for run in setting_runs),
            out=setting_runs[0]['out'],
            default=False))
    # A training run's trial epochs keep the faster of its two candidates.
    candidates = [row for row in rows
                  if (row['threads'], row['workers']) in defaults]
    chosen = max(candidates, key=lambda row: row['images_per_s'] or 0)
    chosen['default'] = True
    default = (chosen['threads'], chosen['workers'])
    measured = [row for row in rows if row['images_per_s']]
    best = max(measured, key=lambda row: row['images_per_s'], default=None)
    return dict(
        stage=name,
        train=stage.train,
        settings=rows,
        best=None if best is None else (best['threads'], best['workers']),
        default=default,
        default_over_best=None if best is None or not chosen['images_per_s']
        else round(chosen['images_per_s'] / best['images_per_s'], 3))


def ordered(names: List[str]) -> List[str]:
    """``names`` and the stages they need, upstream first."""
    out: List[str] = []

    def visit(name):
        for need in STAGES[name].needs:
            visit(need)
        if name not in out:
            out.append(name)

    for name in names:
        visit(name)
    return out


def make_data(folder: str, size: str, images: int) -> str:
    from mmwsss.datasets.synthvoc import generate_synthetic_voc
    root = osp.join(folder, f'synthvoc_{size}')
    generate_synthetic_voc(
        root, seed=0, num_train=images, num_val=2, num_ood=2,
        image_size=SIZES[size], wsol_images_per_class=1)
    return root


def run_size(size: str, args, folder: str) -> List[dict]:
    data = make_data(folder, size, args.images)
    fields = dict(data=data, cams='', labels='', psa='', masks='')
    results = []
    for name in ordered(args.stages):
        stage = STAGES[name]
        try:
            result = run_stage(name, stage, fields, args,
                               osp.join(folder, size))
        except Exception as error:  # the other stages still run
            print(f'  {name}: failed: {type(error).__name__}: {error}',
                  flush=True)
            results.append(dict(stage=name, size=size, error=repr(error)))
            continue
        result['size'] = size
        if name in OUTPUT_FIELDS:  # what the downstream stages read
            fields[OUTPUT_FIELDS[name]] = result['settings'][0]['out']
        if name in args.stages:
            results.append(result)
    return results


def run_baselines(args) -> List[dict]:
    """The reference loops of the other benchmarks next to mmwsss' code."""
    import advcam
    import bbam
    import numpy as np
    import random_walk as walk_benchmark
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    from mmwsss.functional import random_walk

    threads = max(args.threads)
    rows = []

    def timed(fn):
        """Median time of ``args.repeats`` runs, and the output."""
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - start)
        return float(np.median(times)), out

    # AdvCAM at T steps (benchmarks/advcam.py's setting)
    adv = argparse.Namespace(
        threads=threads, depth=18 if args.quick else 50,
        adv_iter=args.adv_iter, size=(96, 128) if args.quick else (384, 512),
        scales=(1.0, ), classes=3, device='cpu')
    model, inputs, image_size, keys = advcam.setup(adv)
    hooks = advcam.GradCAMHooks(model.backbone)
    t_ref, ref = timed(lambda: advcam.reference_loop(
        model, hooks, inputs, adv.scales, keys, image_size, adv.adv_iter))
    hooks.remove()
    for chunk in (1, len(keys)):
        t_new, new = timed(lambda: advcam.ours(model, inputs, adv.scales,
                                               keys, image_size, chunk))
        diff = max((a - b).abs().max().item() for a, b in zip(ref, new))
        rows.append(dict(
            method=f'advcam T={adv.adv_iter} classes/batch={chunk}',
            reference_s=t_ref, mmwsss_s=t_new, speedup=t_ref / t_new,
            max_abs_diff=diff))

    # BBAM (benchmarks/bbam.py's setting)
    if not osp.isdir(bbam.COCO128):
        print(f'BBAM baseline skipped: no coco128 at {bbam.COCO128}')
    else:
        init_default_scope('mmdet')
        img_path = osp.join(bbam.COCO128, 'train2017', '000000000136.jpg')
        short_side = 240 if args.quick else 480
        pipeline = Compose([
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(1333, short_side), keep_ratio=True),
            dict(type='PackDetInputs')
        ])
        iters = 2 if args.quick else 5
        model = bbam.build_model(100 if args.quick else 1000, iters)
        _, samples = bbam.make_input(model, pipeline, img_path)
        scale_w, scale_h = samples[0].scale_factor
        boxes = bbam.coco_boxes(bbam.COCO128, '000000000136.jpg', 5) * \
            np.array([scale_w, scale_h, scale_w, scale_h], dtype=np.float32)
        labels = [0] * len(boxes)
        t_ref, ref = timed(lambda: bbam.reference_loop(
            model, pipeline, img_path, boxes, labels,
            np.random.default_rng(0)))
        for per_batch in (1, None):
            t_new, new = timed(lambda: bbam.mmwsss_run(
                model, pipeline, img_path, boxes, labels,
                np.random.default_rng(0), per_batch))
            diff = max((a - b).abs().max().item() for a, b in zip(ref, new))
            per = per_batch or 'all'
            rows.append(dict(
                method=f'bbam iters={iters} objects/batch={per}',
                reference_s=t_ref, mmwsss_s=t_new, speedup=t_ref / t_new,
                max_abs_diff=diff))

    # random walk (benchmarks/random_walk.py's setting, one VOC image)
    height, width = ((s - 1) // 4 + 1
                     for s in ((96, 128) if args.quick else (375, 500)))
    gen = torch.Generator().manual_seed(0)
    edge = torch.rand(height, width, generator=gen)
    cams = torch.rand(3, height, width, generator=gen)
    walk = dict(beta=10, exp_times=8, radius=5)
    t_ref, ref = timed(
        lambda: walk_benchmark.dense_random_walk(cams, edge, **walk))
    t_new, new = timed(lambda: random_walk(cams, edge, **walk))
    rows.append(dict(
        method='random walk (dense reference vs sparse)', reference_s=t_ref,
        mmwsss_s=t_new, speedup=t_ref / t_new,
        max_abs_diff=(ref - new.float()).abs().max().item()))
    for row in rows:
        row['threads'] = threads
    return rows


def print_table(results: List[dict], baselines: List[dict]) -> None:
    settings = sorted({(row['threads'], row['workers'])
                       for result in results
                       for row in result.get('settings', ())
                       if row['workers'] != TRIAL})
    head = ' '.join(f't{t}/w{w}'.rjust(8) for t, w in settings)
    print(f'\n{"size":9s}{"stage":19s}{head}  default  best     default/best'
          '  peak MiB (best)')
    for result in results:
        if 'error' in result:
            print(f'{result["size"]:9s}{result["stage"]:19s}failed: '
                  f'{result["error"][:80]}')
            continue
        by_setting = {(row['threads'], row['workers']): row
                      for row in result['settings']}
        cells = ' '.join(
            f'{by_setting[s]["images_per_s"]:8.2f}'
            if s in by_setting and by_setting[s]['images_per_s'] else
            ' ' * 8 for s in settings)
        best = result['best']
        peak = by_setting[tuple(best)]['peak_mib'] if best else float('nan')
        ratio = result['default_over_best']
        print(f'{result["size"]:9s}{result["stage"]:19s}{cells}  '
              f'{setting_name(*result["default"]):9s}'
              f'{"" if best is None else setting_name(*best):9s}'
              f'{"" if ratio is None else f"{ratio:.2f}":>8s}'
              f'  {peak:10.1f}')
    print('(images/s; tT/wW = T torch threads, also the CRF processes of '
          'the label stages and BBAM, and W dataloader workers; tT/trial: '
          'the tools\' trial of both loading places, jobs of at least '
          f'{resumable_test_loop.MIN_TRIAL_JOB} batches)')
    for row in baselines:
        print(f'{row["method"]:45s} reference {row["reference_s"]:8.2f} s  '
              f'mmwsss {row["mmwsss_s"]:8.2f} s  x{row["speedup"]:.2f}  '
              f'max |diff| {row["max_abs_diff"]:.1e}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--stages', nargs='+', choices=sorted(STAGES),
                        default=sorted(STAGES))
    parser.add_argument('--sizes', nargs='+', choices=sorted(SIZES),
                        help='default: synthvoc voc (tiny with --quick)')
    parser.add_argument('--threads', type=int, nargs='+', default=(1, 2))
    parser.add_argument('--workers', type=int, nargs='+', default=(0, 2))
    parser.add_argument('--images', type=int,
                        help='train-split images; 8 (4 with --quick)')
    parser.add_argument('--train-batch', type=int,
                        help='batch of the training stages; 4 (2 with '
                        '--quick)')
    parser.add_argument('--adv-iter', type=int, default=27,
                        help='AdvCAM steps of --baselines')
    parser.add_argument('--baselines', action='store_true')
    parser.add_argument('--repeats', type=int,
                        help='runs of each baseline, the median reported; 3 '
                        '(1 with --quick)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='runs of each setting, alternated, the median '
                        'reported')
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--few-steps', action='store_true',
                        help='the iterative methods at the settings of '
                        '--quick (2 steps, BBAM 50 proposals) at any size')
    parser.add_argument('--memory-format',
                        choices=('config', 'channels-last', 'contiguous'),
                        default='config',
                        help="the test stages' model layout: as its "
                        "config's cpu_cfg.channels_last says (as "
                        'tools/test.py runs it), or forced either way')
    parser.add_argument('--work-dir', help='default: a temporary folder')
    parser.add_argument('--out', help='json file of the results')
    args = parser.parse_args(argv)
    args.sizes = args.sizes or (['tiny'] if args.quick else
                                ['synthvoc', 'voc'])
    args.few_steps = args.few_steps or args.quick
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.images = args.images or (4 if args.quick else 8)
    args.train_batch = args.train_batch or (2 if args.quick else 4)
    if (any(STAGES[name].train for name in args.stages)
            and args.images < 2 * args.train_batch):
        # The first batch is the warm-up, the throughput is of the others.
        parser.error(f'the training stages time their batches after the '
                     f'first: --images ({args.images}) must be at least '
                     f'twice --train-batch ({args.train_batch})')
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if argv is None and not ({'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'}
                             & set(os.environ)):
        # OpenMP's waits as the tools set them (tools/train.py), read when
        # torch loads. (No small MALLOC_MMAP_THRESHOLD_ for exact peaks: its
        # page faults made every large op slower with 2 threads than with
        # 1 and so decided the ranking.)
        env = dict(os.environ, GOMP_SPINCOUNT='10000', KMP_BLOCKTIME='0')
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    # mmengine logs every parameter's initialisation
    MMLogger.get_instance('mmengine').setLevel(logging.WARNING)
    load = os.getloadavg()
    print(f'{available_cores()} cores, load average {load[0]:.2f} at start, '
          f'OMP_WAIT_POLICY={os.environ.get("OMP_WAIT_POLICY")}, '
          f'GOMP_SPINCOUNT={os.environ.get("GOMP_SPINCOUNT")}', flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.work_dir or tmp
        results = []
        for size in args.sizes:
            print(f'{size} ({SIZES[size][0]}-{SIZES[size][1]} px sides):',
                  flush=True)
            results += run_size(size, args, folder)
        baselines = run_baselines(args) if args.baselines else []
    report = dict(
        cores=available_cores(),
        omp_wait_policy=os.environ.get('OMP_WAIT_POLICY'),
        gomp_spincount=os.environ.get('GOMP_SPINCOUNT'),
        load_average_start=load,
        load_average_end=os.getloadavg(),
        memory='peak resident set of the main process above its start '
        '(VmHWM)',
        args={k: v for k, v in vars(args).items() if k != 'out'},
        stages=results,
        baselines=baselines)
    for result in results:
        for row in result.get('settings', ()):
            row.pop('out')
    print_table(results, baselines)
    print(f'load average at the end {report["load_average_end"][0]:.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    main()
