# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/run_pipeline.py end to end on the SynthVOC pipelines whose chain
shape the demos do not have, shrunk to a tiny SynthVOC and one epoch (or two
iterations) per training through --cfg-options: dissertation Table 4.7's
chain (W-OoD -> RIB then AdvCAM as one CAM job -> IRN -> DeepLab train and
test) and IRN instance pseudo-masks -> Mask R-CNN, on the latter also a
changed stage and random kills."""
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

from .test_run_pipeline import (assert_same_outputs, copy_work_dir,
                                statuses, tool_env)

pytestmark = pytest.mark.slow

TINY_DATA = [
    'stages.synthvoc.options.num_train=6',
    'stages.synthvoc.options.num_val=3',
    'stages.synthvoc.options.num_ood=2',
    'stages.synthvoc.options.wsol_images_per_class=1',
]


def _tiny_training(stage, epochs=True):
    if not epochs:  # DeepLab: iterations
        return [
            f'stages.{stage}.cfg_options.{key}' for key in (
                'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                'param_scheduler.0.end=2',
                'default_hooks.checkpoint.interval=2',
                'train_dataloader.batch_size=2')
        ]
    return [
        f'stages.{stage}.cfg_options.{key}'
        for key in ('train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                    'train_dataloader.batch_size=3')
    ]


TINY_IRN = [
    *_tiny_training('classifier'),
    'stages.irnet.cfg_options.train_cfg.max_epochs=1',
    'stages.irnet.cfg_options.train_dataloader.batch_size=3',
    'stages.irnet.cfg_options.custom_hooks.0.dataloader.batch_size=3',
]
TINY_DEEPLAB = _tiny_training('deeplab', epochs=False)
TINY_DETECTOR = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
    'train_dataloader.batch_size=3', 'param_scheduler.1.end=1',
    'default_hooks.checkpoint.interval=1'
]
CHAINS = {
    'irn_r18w32_synthvoc-wood-advcam-rib.py': [
        *TINY_DATA, *TINY_IRN, *TINY_DEEPLAB, *_tiny_training('cam'),
        # two OoD images: two clusters, batches of two
        'stages.classifier.cfg_options.model.num_ood_clusters=2',
        'stages.classifier.cfg_options.model.ood_data.batch_size=2',
        'stages.cams.cfg_options.model.adv_iter=2',
        'stages.cams.cfg_options.model.num_iters=2',
        'stages.cams.cfg_options.model.rib_data.batch_size=2',
        'stages.cams.cfg_options.model.rib_data.num_workers=0',
    ],
    'irn-ins_r18w32_synthvoc.py': [
        *TINY_DATA, *TINY_IRN,
        *[f'stages.mask_rcnn.cfg_options.{key}' for key in TINY_DETECTOR],
    ],
}
INSTANCE_CHAIN = 'irn-ins_r18w32_synthvoc.py'


def pipeline_cmd(name, work, *cfg_options):
    return [
        sys.executable, 'tools/run_pipeline.py', f'configs/pipelines/{name}',
        '--work-dir', work, '--device', 'cpu', '--no-report',
        '--cfg-options', *CHAINS[name], *cfg_options
    ]


def run_pipeline(repo, name, work, *cfg_options) -> dict:
    """Run a tiny pipeline to completion; its summary."""
    proc = subprocess.run(
        pipeline_cmd(name, work, *cfg_options),
        cwd=repo,
        env=tool_env(repo),
        capture_output=True,
        text=True,
        timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(osp.join(work, 'summary.json')) as f:
        return json.load(f)


def _in_range(*figures):
    return all(value is not None and 0 <= value <= 100 for value in figures)


def test_table_4_7_chain(repo_root, tmp_path):
    summary = run_pipeline(repo_root, 'irn_r18w32_synthvoc-wood-advcam-rib.py',
                           str(tmp_path / 'work'))
    assert set(statuses(summary).values()) == {'ran'}
    stages = summary['stages']
    assert _in_range(stages['cams']['metrics']['miou'],
                     stages['pseudo_masks']['metrics']['miou'],
                     stages['deeplab_test']['metrics']['val_miou'])
    # W-OoD fine-tunes the CAM classifier; the CAM job loads W-OoD's
    record = json.load(open(osp.join(str(tmp_path / 'work'), 'cams',
                                     'stage.json')))
    assert stages['classifier']['outputs']['checkpoint'] in record['command']
    assert 'classifier.checkpoint' in record['inputs']
    assert 'cam.checkpoint' not in record['inputs']
    assert len(os.listdir(stages['pseudo_masks']['outputs']['masks'])) == 7


@pytest.fixture(scope='module')
def instance_chain(repo_root, tmp_path_factory):
    """The tiny IRN instances -> Mask R-CNN pipeline run once,
    uninterrupted."""
    tmp = tmp_path_factory.mktemp('instance_chain')
    work = str(tmp / 'reference')
    return dict(
        tmp=tmp,
        work=work,
        summary=run_pipeline(repo_root, INSTANCE_CHAIN, work))


def test_irn_instances_to_mask_rcnn(instance_chain):
    summary = instance_chain['summary']
    assert set(statuses(summary).values()) == {'ran'}
    stages = summary['stages']
    ann = json.load(open(stages['instances']['outputs']['ann']))
    # the dataset's image ids, so that Mask R-CNN finds the images
    assert sorted(image['id'] for image in ann['images']) == list(range(1, 7))
    assert ann['annotations']
    assert _in_range(stages['instances']['metrics']['voc_ap50'],
                     stages['mask_rcnn']['metrics']['segm_ap50'])


def test_changed_stage_reruns_with_its_descendants(instance_chain,
                                                   repo_root):
    work = copy_work_dir(instance_chain['work'],
                         instance_chain['tmp'] / 'changed')
    summary = run_pipeline(repo_root, INSTANCE_CHAIN, work,
                           'stages.instances.cfg_options.model.beta=8')
    assert statuses(summary) == {
        name: 'ran' if name in ('instances', 'mask_rcnn') else 'skipped'
        for name in summary['stages']
    }


def test_killed_pipeline_finishes_with_identical_outputs(
        instance_chain, repo_root):
    """SIGKILL the runner's process group at random moments of the instance
    and Mask R-CNN stages, rerun the same command, end with the files and
    weights of the uninterrupted run."""
    rerun = ('instances', 'mask_rcnn')
    work = copy_work_dir(instance_chain['work'],
                         instance_chain['tmp'] / 'killed')
    for stage in rerun:
        shutil.rmtree(osp.join(work, stage))
    rng = random.Random(0)
    kills = 0
    for delay in (rng.uniform(5, 25), rng.uniform(15, 40)):
        proc = subprocess.Popen(
            pipeline_cmd(INSTANCE_CHAIN, work),
            cwd=repo_root,
            env=tool_env(repo_root),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
        time.sleep(0.5)  # let the killed tools' processes go
    summary = run_pipeline(repo_root, INSTANCE_CHAIN, work)
    assert kills >= 1
    assert_same_outputs(summary, instance_chain['summary'], rerun)
    assert [summary['stages'][s]['metrics'] for s in rerun] == [
        instance_chain['summary']['stages'][s]['metrics'] for s in rerun
    ]
