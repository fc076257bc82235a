# Copyright (c) mmwsss contributors. All rights reserved.
"""benchmarks/stages.py counts images as the pipelines pack them, gives
BBAM's random detector objects to optimise, takes as a stage's default what
the tools would run for a job of its length, and runs one stage at its tiny
size and writes its table as json (a smoke test: no figure is checked
against a speed)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmwsss.datasets.transforms import PackCAMInputs
from mmwsss.engine.runner.resumable_test_loop import MIN_TRIAL_JOB
from mmwsss.models.bbam import attributor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        'stages_benchmark', osp.join(ROOT, 'benchmarks', 'stages.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_batch_clock_counts_images_of_multi_scale_batches():
    """A CAM test batch packs one input list per scale: the clock counts
    its images, not its scales."""
    stages = _load_benchmark()
    pack = PackCAMInputs()
    images = [
        pack.transform(
            dict(ms_imgs=[
                np.zeros((8 * scale, 8 * scale, 3), np.uint8)
                for scale in (2, 1, 3, 4)
            ])) for _ in range(3)
    ]
    batch = pseudo_collate(images)
    assert len(batch['inputs']) == 4  # one entry per scale
    assert stages.batch_images(batch) == 3
    single_scale = pseudo_collate([
        pack.transform(dict(img=np.zeros((8, 8, 3), np.uint8)))
        for _ in range(2)
    ])
    assert stages.batch_images(single_scale) == 2

    clock = stages.BatchClock()
    for _ in range(3):
        clock.after_test_iter(None, 0, batch)
    clock.ends = [10.0, 11.0, 13.0]
    # 6 images after the first batch in 3 s
    assert clock.images_per_second() == 2.0


def test_trial_outcome_reports_the_kept_place_and_both_timings():
    stages = _load_benchmark()
    finished = dict(
        place='workers', seconds_per_value=dict(main=3.2e-7, workers=2.5e-7))
    assert stages.trial_outcome(finished) == dict(
        place='workers', main_s=0.32, workers_s=0.25)
    # no trial, or a job that ended inside it: nothing to report
    assert stages.trial_outcome(None) is None
    unfinished = dict(place='main', seconds_per_value=dict(workers=2.5e-7))
    assert stages.trial_outcome(unfinished) is None


def test_default_setting_follows_the_length_of_the_job(monkeypatch):
    stages = _load_benchmark()
    # a CPU with 2 cores per process: test jobs try both loading places
    monkeypatch.setattr(stages, 'available_cores', lambda: 2)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)

    def defaults(name, images):
        stage = stages.STAGES[name]
        cfg = Config.fromfile(osp.join(ROOT, 'configs', stage.config))
        return stages.default_settings(stage, cfg, images)

    cam_plan = stages._plan(2, False)
    # below the trial's batches the job loads in its workers: the default
    # is that setting, not a separate run of it
    assert defaults('cam', MIN_TRIAL_JOB - 1) == [(cam_plan.threads,
                                                    cam_plan.workers)]
    assert defaults('cam', MIN_TRIAL_JOB) == [(cam_plan.threads,
                                               stages.TRIAL)]
    # label stages: their CRF processes, jobs of 8-image batches
    crf = max(cam_plan.crf_workers, 1)
    assert defaults('ir_label', 8) == [(crf, cam_plan.workers)]
    assert defaults('ir_label', 8 * (MIN_TRIAL_JOB - 1)) == [
        (crf, cam_plan.workers)]
    assert defaults('ir_label', 8 * MIN_TRIAL_JOB) == [(crf, stages.TRIAL)]


def test_label_stages_keep_their_batches_where_the_job_allows():
    stages = _load_benchmark()
    label, cam = stages.STAGES['psa_label'], stages.STAGES['cam']
    # one timed batch needs three: else batches of two
    assert stages.job_batch_size(label, 8, 23) == 2
    assert stages.job_batch_size(label, 8, 24) == 8
    assert stages.job_batch_size(cam, 1, 4) == 1


def test_a_long_label_job_runs_the_tools_trial_with_its_crf_processes(
        tmp_path):
    stages = _load_benchmark()
    args = stages.parse_args(['--images', str(8 * MIN_TRIAL_JOB)])
    fields = dict(data=str(tmp_path / 'data'), cams=str(tmp_path / 'cams'),
                  labels='', psa='', masks='', out=str(tmp_path / 'out'))
    cfg = stages.stage_config('ir_label', stages.STAGES['ir_label'], fields,
                              args, 2, stages.TRIAL, str(tmp_path))
    assert cfg.test_cfg.loading == 'fastest'
    assert cfg.model.num_workers == 2  # the CRF processes
    assert cfg.test_dataloader.batch_size == 8  # the config's
    assert cfg.test_dataloader.num_workers == stages._plan(2, False).workers


def test_bbam_stage_recognises_every_object():
    stages = _load_benchmark()
    assert stages.STAGES['bbam'].context is stages.recognised_objects
    rng = np.random.default_rng(0)
    # as a random detector: the label (1) never wins, boxes off the object
    logits = rng.normal(size=(20, 4))
    logits[:, 1] -= 10
    boxes = rng.uniform(0, 50, size=(20, 4, 4))
    gt_box = np.array([10., 10., 40., 30.])
    select = attributor.select_positive_proposals
    positives, _ = select(logits, boxes, gt_box, 1, (0.8, ), 5)
    assert positives.size == 0
    with stages.recognised_objects():
        positives, _ = attributor.select_positive_proposals(
            logits, boxes.reshape(20, 16), gt_box, 1, (0.8, ), 5)
    np.testing.assert_array_equal(positives, np.arange(5))
    assert attributor.select_positive_proposals is select


@pytest.mark.slow  # a subprocess that builds runners, as the tools' tests

def test_stages_benchmark_one_stage(tmp_path):
    out = tmp_path / 'stages.json'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    proc = subprocess.run([
        sys.executable,
        osp.join(ROOT, 'benchmarks', 'stages.py'), '--quick', '--stages',
        'deeplab', '--threads', '1', '--workers', '0', '--images', '2',
        '--rounds', '2',
        '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(out)
    ], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # every output lies in the benchmark's work dir (DeepLab's prediction
    # writer says '{work_dir}/predictions')
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        'stages.json', 'work'
    ]
    report = json.loads(out.read_text())
    (result, ) = report['stages']
    assert result['stage'] == 'deeplab' and result['size'] == 'tiny'
    settings = {(row['threads'], row['workers']): row
                for row in result['settings']}
    assert (1, 0) in settings
    assert all(row['images_per_s'] > 0 for row in settings.values())
    # two runs of each setting, the median reported
    assert all(
        len(row['rounds']) == 2 and row['images_per_s'] == sum(row['rounds'])
        / 2 for row in settings.values())
    assert sum(row['default'] for row in settings.values()) == 1
    # jobs of 2 images are too short for a loading trial
    assert all(row['trials'] == [None, None] for row in settings.values())
    assert 0 < result['default_over_best'] <= 1
    assert 'deeplab' in proc.stdout
