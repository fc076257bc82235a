# Copyright (c) mmwsss contributors. All rights reserved.
"""tools/run_pipeline.py end to end on the SynthVOC pipelines whose chain
shape the demos do not have, shrunk to a tiny SynthVOC and one epoch (or two
iterations) per training through --cfg-options: dissertation Table 4.7's
chain (W-OoD -> RIB then AdvCAM as one CAM job -> IRN -> DeepLab train and
test), IRN instance pseudo-masks -> Mask R-CNN, on the latter also a
changed stage and random kills, and BBAM -> Mask R-CNN and DeepLab on its
semantic PNGs."""
import json
import os
import os.path as osp
import random
import shutil
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmwsss.datasets import PseudoLabelSegDataset
from .test_run_pipeline import (assert_same_outputs, copy_work_dir,
                                kill_after, statuses, tool_env)

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
    'bbam_r18w32_synthvoc.py': [
        *TINY_DATA, *TINY_DEEPLAB,
        *[
            f'stages.{stage}.cfg_options.{key}'
            for stage in ('faster_rcnn', 'mask_rcnn') for key in TINY_DETECTOR
        ],
        'stages.bbam.cfg_options.model.num_proposals=50',
        'stages.bbam.cfg_options.model.num_iters=2',
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


def test_bbam_to_mask_rcnn_and_deeplab(repo_root, tmp_path):
    work = str(tmp_path / 'work')
    summary = run_pipeline(repo_root, 'bbam_r18w32_synthvoc.py', work)
    assert set(statuses(summary).values()) == {'ran'}
    stages = summary['stages']
    # BBAM labels every train image: one semantic PNG per image of the split
    # DeepLab trains on, named after the image file
    data = stages['synthvoc']['outputs']['data']
    with open(osp.join(data, 'ImageSets', 'Segmentation', 'train.txt')) as f:
        train_ids = f.read().split()
    semantic = stages['bbam']['outputs']['semantic']
    pngs = sorted(os.listdir(semantic))
    assert pngs == sorted(f'{image_id}.png' for image_id in train_ids)
    assert len(pngs) == 6
    # DeepLab's training set, as its run built it: those PNGs
    cfg = Config.fromfile(
        osp.join(work, 'deeplab', 'deeplabv2_r18w32-d8_1xb10-300it_'
                 'synthvoc-112x112_pseudo.py')).train_dataloader.dataset
    assert osp.samefile(cfg.pseudo_mask_dir, semantic)
    cfg.pop('type')
    train_set = PseudoLabelSegDataset(**dict(cfg, pipeline=[]))
    assert len(train_set) == len(pngs)
    assert {
        osp.basename(train_set.get_data_info(i)['seg_map_path'])
        for i in range(len(train_set))
    } == set(pngs)
    assert _in_range(stages['bbam']['metrics']['pseudo_miou'],
                     stages['mask_rcnn']['metrics']['segm_ap50'])
    # finite: NaN and inf fail the range check
    assert _in_range(stages['deeplab_test']['metrics']['val_miou'])


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
    """SIGKILL the runner's process group at a random moment of the
    instance and Mask R-CNN stages, rerun the same command, end with the
    files and weights of the uninterrupted run."""
    rerun = ('instances', 'mask_rcnn')
    work = copy_work_dir(instance_chain['work'],
                         instance_chain['tmp'] / 'killed')
    for stage in rerun:
        shutil.rmtree(osp.join(work, stage))
    # a moment within the stages' uninterrupted time on this machine, so
    # that a fast machine is killed too
    span = sum(instance_chain['summary']['stages'][name]['seconds']
               for name in rerun)
    kill_after(
        pipeline_cmd(INSTANCE_CHAIN, work), repo_root,
        random.Random(0).uniform(0.2, 0.6) * span)
    summary = run_pipeline(repo_root, INSTANCE_CHAIN, work)
    assert_same_outputs(summary, instance_chain['summary'], rerun)
    assert [summary['stages'][s]['metrics'] for s in rerun] == [
        instance_chain['summary']['stages'][s]['metrics'] for s in rerun
    ]
