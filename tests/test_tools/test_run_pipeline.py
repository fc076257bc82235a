# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/run_pipeline.py end to end on the `make demo` pipeline, shrunk to a
tiny SynthVOC and a few iterations through the pipeline's --cfg-options:
every stage once, a rerun that skips them all, a changed stage, random
kills, and a stage on two processes."""
import json
import os
import os.path as osp
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

pytestmark = pytest.mark.slow

PIPELINE = 'configs/pipelines/irn_r18w32_synthvoc-demo.py'
# 6 train / 3 val images, one epoch (or 2 iterations) per training.
TINY = [
    'stages.synthvoc.options.num_train=6',
    'stages.synthvoc.options.num_val=3',
    'stages.synthvoc.options.num_ood=2',
    'stages.synthvoc.options.wsol_images_per_class=1',
    *[
        f'stages.{tag}.cfg_options.{key}' for tag in ('cam', 'moana')
        for key in ('train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                    'train_dataloader.batch_size=3')
    ],
    'stages.irnet.cfg_options.train_cfg.max_epochs=1',
    'stages.irnet.cfg_options.train_dataloader.batch_size=3',
    'stages.irnet.cfg_options.custom_hooks.0.dataloader.batch_size=3',
    'stages.deeplab.cfg_options.train_cfg.max_iters=2',
    'stages.deeplab.cfg_options.train_cfg.val_interval=2',
    'stages.deeplab.cfg_options.param_scheduler.0.end=2',
    'stages.deeplab.cfg_options.default_hooks.checkpoint.interval=2',
    'stages.deeplab.cfg_options.train_dataloader.batch_size=2',
]
IRN_STAGES = ('ir_labels', 'irnet', 'pseudo_masks', 'deeplab')


def pipeline_cmd(work, *options, cfg_options=()):
    return [
        sys.executable, 'tools/run_pipeline.py', PIPELINE, '--work-dir',
        work, '--device', 'cpu', *options, '--cfg-options', *TINY,
        *cfg_options
    ]


def run_pipeline(repo, work, *options, cfg_options=()) -> dict:
    """Run the tiny pipeline to completion; its summary."""
    proc = subprocess.run(
        pipeline_cmd(work, *options, cfg_options=cfg_options),
        cwd=repo,
        env=tool_env(repo),
        capture_output=True,
        text=True,
        timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(osp.join(work, 'summary.json')) as f:
        return json.load(f)


def tool_env(repo):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = repo + os.pathsep + env.get('PYTHONPATH', '')
    return env


def statuses(summary):
    return {name: s['status'] for name, s in summary['stages'].items()}


def copy_work_dir(work, to):
    """A copy that keeps modification times (so its stages stay up to
    date) and whose stage records point into it."""
    shutil.copytree(work, to)
    return str(to)


def kill_after(cmd, repo, delay: float) -> None:
    """Start ``cmd`` in its own process group and SIGKILL the group after
    ``delay`` seconds; fail if it finished before."""
    proc = subprocess.Popen(
        cmd,
        cwd=repo,
        env=tool_env(repo),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.5)  # let the killed tools' processes go
        return
    raise AssertionError(f'finished within {delay:.0f} s, before the kill')


def assert_same_outputs(summary, reference, stages):
    """The outputs of ``stages`` hold the same files, byte for byte
    (writers' manifests, which log paths and resume counts, aside), and the
    same checkpoint weights."""
    for name in stages:
        ours = summary['stages'][name]['outputs']
        theirs = reference['stages'][name]['outputs']
        assert ours.keys() == theirs.keys()
        for output, path in ours.items():
            if output == 'checkpoint':
                one = torch.load(path, weights_only=True)['state_dict']
                two = torch.load(theirs[output], weights_only=True)[
                    'state_dict']
                assert one.keys() == two.keys()
                for key in one:
                    assert torch.equal(one[key], two[key]), (name, key)
                continue
            if osp.isfile(path):
                assert open(path, 'rb').read() == open(theirs[output],
                                                       'rb').read(), path
                continue
            files = sorted(f for f in os.listdir(path)
                           if f != 'manifest.json' and not f.endswith('.tmp'))
            assert files == sorted(
                f for f in os.listdir(theirs[output])
                if f != 'manifest.json' and not f.endswith('.tmp'))
            assert files, path
            for file in files:
                with open(osp.join(path, file), 'rb') as a, open(
                        osp.join(theirs[output], file), 'rb') as b:
                    assert a.read() == b.read(), (name, file)


@pytest.fixture(scope='module')
def demo(repo_root, tmp_path_factory):
    """The tiny pipeline run once, uninterrupted."""
    tmp = tmp_path_factory.mktemp('run_pipeline')
    work = str(tmp / 'reference')
    return dict(
        tmp=tmp, work=work, summary=run_pipeline(repo_root, work))


def test_every_stage_runs_and_reports(demo):
    summary = demo['summary']
    assert set(statuses(summary).values()) == {'ran'}
    stages = summary['stages']
    figures = [
        stages['cam']['metrics']['cls_map'],
        stages['cam_seeds']['metrics']['miou'],
        stages['cam_chance']['metrics']['miou'],
        stages['moana_seeds']['metrics']['miou'],
        stages['ir_labels']['metrics']['precision'],
        stages['ir_labels']['metrics']['labelled'],
        stages['pseudo_masks']['metrics']['miou'],
        stages['deeplab']['metrics']['val_miou'],
        stages['deeplab_predictions']['metrics']['train_miou'],
    ]
    assert all(0 <= value <= 100 for value in figures), figures
    assert 0 < stages['cam_seeds']['metrics']['threshold'] < 1
    assert set(stages['cam_seeds']['metrics']['per_class']) == {
        'background', *json.load(
            open(osp.join(stages['synthvoc']['outputs']['data'],
                          'meta.json')))['classes']
    }
    # each stage consumed its inputs by name: IRN reads MoANA's CAMs
    record = json.load(open(osp.join(demo['work'], 'ir_labels',
                                     'stage.json')))
    assert stages['moana_seeds']['outputs']['cams'] in ' '.join(
        record['command'])
    assert len(os.listdir(stages['pseudo_masks']['outputs']['masks'])) == 7
    # the report's gallery shows the segmenter's predictions on the rows'
    # images: the train split, as the pseudo-masks
    assert sorted(os.listdir(
        stages['deeplab_predictions']['outputs']['predictions'])) == sorted(
            os.listdir(stages['pseudo_masks']['outputs']['masks']))
    with open(osp.join(demo['work'], 'report.html')) as f:
        report = f.read()
    assert '<th>deeplab_predictions/predictions</th>' in report


def test_rerun_skips_every_stage(demo, repo_root):
    summary = run_pipeline(repo_root, demo['work'])
    assert set(statuses(summary).values()) == {'skipped'}
    for name, stage in summary['stages'].items():
        assert stage == dict(demo['summary']['stages'][name],
                             status='skipped')


def test_changed_stage_reruns_with_its_descendants(demo, repo_root):
    work = copy_work_dir(demo['work'], demo['tmp'] / 'changed')
    summary = run_pipeline(
        repo_root, work, cfg_options=['stages.pseudo_masks.cfg_options.'
                                      'model.beta=8'])
    assert statuses(summary) == {
        name: 'ran' if name in ('pseudo_masks', 'deeplab',
                                'deeplab_predictions') else 'skipped'
        for name in summary['stages']
    }


def test_killed_pipeline_finishes_with_identical_outputs(demo, repo_root):
    """SIGKILL the runner's process group (the runner and the tool it runs)
    at a random moment of the IRN stages, rerun the same command, and end
    with the files of the uninterrupted run."""
    work = copy_work_dir(demo['work'], demo['tmp'] / 'killed')
    for name in IRN_STAGES:
        shutil.rmtree(osp.join(work, name))
    # a moment within the stages' uninterrupted time on this machine, so
    # that a fast machine is killed too
    span = sum(demo['summary']['stages'][name]['seconds']
               for name in IRN_STAGES)
    kill_after(pipeline_cmd(work), repo_root,
               random.Random(0).uniform(0.2, 0.6) * span)
    summary = run_pipeline(repo_root, work)
    assert_same_outputs(summary, demo['summary'], IRN_STAGES)
    assert [summary['stages'][name]['metrics'] for name in IRN_STAGES] == [
        demo['summary']['stages'][name]['metrics'] for name in IRN_STAGES
    ]


def test_stage_server_children_equal_new_processes(demo, repo_root):
    """The demo's tools ran in children of a stage server; as new
    processes (--no-preload) an epoch-based and an iteration-based training
    and a CAM job write the same weights and files."""
    server_log = osp.join(demo['work'], 'stage_server.log')
    assert osp.isfile(server_log)
    work = copy_work_dir(demo['work'], demo['tmp'] / 'new_processes')
    stages = ('cam', 'cam_seeds', 'deeplab')
    summary = run_pipeline(repo_root, work, '--stages', ','.join(stages),
                           '--force', '--no-preload')
    assert [statuses(summary)[name] for name in stages] == ['ran'] * 3
    assert_same_outputs(summary, demo['summary'], stages)
    # no server started this time
    assert os.path.getsize(osp.join(work, 'stage_server.log')) == \
        os.path.getsize(server_log)


def test_two_processes_write_the_pseudo_masks_of_one(demo, repo_root):
    """--launcher pytorch --gpus 2 runs the stage under
    torch.distributed.run (gloo without CUDA; the runner picks a free
    rendezvous port with mmwsss.testing.free_port)."""
    work = copy_work_dir(demo['work'], demo['tmp'] / 'two_processes')
    summary = run_pipeline(repo_root, work, '--stages', 'pseudo_masks',
                           '--force', '--launcher', 'pytorch', '--gpus', '2')
    assert statuses(summary)['pseudo_masks'] == 'ran'
    assert statuses(summary)['deeplab'] == 'not selected'
    record = json.load(open(osp.join(work, 'pseudo_masks', 'stage.json')))
    assert record['command'][1:5] == [
        '-m', 'torch.distributed.run', '--nproc_per_node', '2'
    ]
    assert_same_outputs(summary, demo['summary'], ['pseudo_masks'])
    assert summary['stages']['pseudo_masks']['metrics'] == demo['summary'][
        'stages']['pseudo_masks']['metrics']
