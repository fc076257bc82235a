# Copyright (c) mmwsss contributors. All rights reserved.
"""Instance pseudo-masks through tools/test.py with the configs/irn config:
written (in two processes), merged into a COCO json that mmdet reads, scored,
resumed, and the same in one process."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.datasets import CocoDataset

from mmwsss.fileio import read_label_map, write_cam_file
from mmwsss.testing import free_port

pytestmark = pytest.mark.slow

CONFIG = """
_base_ = ['{repo}/configs/irn/irnet-ins_r18w32_synthvoc.py']
model = dict(backbone=dict(base_channels=8), in_channels=(64, 8, 16, 32, 64),
             exp_times=2)
test_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(
    data_root='{data}',
    pipeline=[dict(type='mmwsss.LoadImageRGB'),
              dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
                   arrays=('keys', 'strided')),
              dict(type='mmwsss.LoadLabelMap', num_classes=3),
              dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [
    dict(type='mmwsss.InstancePseudoMaskWriter', output_dir='{out}',
         ann_file='{out}.json',
         source_ann_file='{data}/annotations/instances_train.json'),
    dict(type='mmwsss.InstancePseudoMaskMetric',
         instance_dir='{data}/SegmentationObject')]
# The hand-made checkpoint sets only the heads that matter here.
load_from_strict = False
"""


def _write_cams(root, out):
    """Strided CAMs made from the ground truth: each class's mask."""
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt')) as f:
        ids = f.read().split()
    for img_id in ids:
        gt = read_label_map(
            osp.join(root, 'SegmentationClass', img_id + '.png'), 20)
        keys = np.array([v - 1 for v in np.unique(gt) if 0 < v < 255])
        masks = np.stack([(gt == k + 1) for k in keys]).astype(np.float32)
        strided = F.interpolate(
            torch.from_numpy(masks)[None],
            size=((gt.shape[0] - 1) // 4 + 1, (gt.shape[1] - 1) // 4 + 1),
            mode='bilinear',
            align_corners=False)[0].numpy()
        write_cam_file(osp.join(out, img_id + '.npz'), keys, strided)
    return ids


def _run(repo, args, nproc=1):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = repo + os.pathsep + env.get('PYTHONPATH', '')
    launch = [
        '-m', 'torch.distributed.run', '--nproc_per_node',
        str(nproc), '--master_port', str(free_port())
    ] if nproc > 1 else []
    extra = ['--launcher', 'pytorch'] if nproc > 1 else []
    proc = subprocess.run(
        [sys.executable] + launch + ['tools/test.py'] + args + extra,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _metric(log, key):
    return float(log.split(key + ': ')[1].split()[0])


@pytest.fixture(scope='module')
def runs(tiny_synthvoc, repo_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('irn_instance')
    out = str(tmp / 'instances')
    ids = _write_cams(tiny_synthvoc, str(tmp / 'cams'))
    config = tmp / 'config.py'
    config.write_text(
        CONFIG.format(
            repo=repo_root, data=tiny_synthvoc, cams=tmp / 'cams', out=out))
    # An IRNet whose boundary map is ~1 everywhere (the walk keeps the CAMs
    # in place) and whose displacement is 0 (one instance centre): the
    # detections are the connected components of the ground-truth classes.
    ckpt = str(tmp / 'irnet.pth')
    torch.save(
        dict(
            state_dict={
                'edge_fuse.weight': torch.zeros(1, 160, 1, 1),
                'edge_fuse.bias': torch.full((1, ), 10.),
                'displacement_head.1.weight': torch.zeros(2, 256, 1, 1),
            }), ckpt)
    cmd = [str(config), ckpt, '--work-dir', str(tmp / 'work')]
    # first in two processes, resumed in one, then afresh in one
    first = _run(repo_root, cmd, nproc=2)
    merged = open(out + '.json', 'rb').read()
    os.remove(out + '.json')
    second = _run(repo_root, cmd)
    single = str(tmp / 'single')
    _run(
        repo_root, cmd + [
            '--cfg-options', f'test_evaluator.0.output_dir={single}',
            f'test_evaluator.0.ann_file={single}.json'
        ])
    return dict(
        ids=ids,
        out=out,
        single=single,
        data=tiny_synthvoc,
        first=first,
        merged=merged,
        second=second)


def test_files_json_and_scores(runs):
    files = sorted(glob.glob(osp.join(runs['out'], '*.instances.json')))
    assert [osp.basename(f).split('.')[0]
            for f in files] == sorted(runs['ids'])
    with open(osp.join(runs['data'], 'annotations/instances_train.json')) as f:
        source = json.load(f)
    dataset = CocoDataset(
        ann_file=runs['out'] + '.json',
        metainfo=dict(classes=[c['name'] for c in source['categories']]),
        data_prefix=dict(img=osp.join(runs['data'], 'JPEGImages')),
        test_mode=True,
        pipeline=[])
    source_ids = {i['file_name']: i['id'] for i in source['images']}
    assert len(dataset) == len(runs['ids'])
    for index in range(len(dataset)):
        item = dataset[index]
        assert source_ids[osp.basename(item['img_path'])] == item['img_id']
        assert item['instances']
    # the components of the ground-truth classes are the instances (AP50
    # 100 measured)
    assert _metric(runs['first'], 'instance_pseudo_mask/voc_AP50') > 90
    assert _metric(runs['first'], 'instance_pseudo_mask/mask_AP50') > 90
    assert 0 < _metric(runs['first'], 'instance_pseudo_mask/mask_AP') <= 100


def test_rerun_skips_everything_and_gives_the_same_json(runs):
    assert 'instance_pseudo_mask_writer/skipped: 8' in runs['second']
    for key in ('voc_AP50', 'mask_AP'):
        assert _metric(runs['second'], f'instance_pseudo_mask/{key}') == \
            _metric(runs['first'], f'instance_pseudo_mask/{key}')
    assert open(runs['out'] + '.json', 'rb').read() == runs['merged']
    manifest = json.load(open(osp.join(runs['out'], 'manifest.json')))
    assert manifest['skipped_existing'] == 8 and not manifest['failures']


def test_two_processes_equal_one(runs):
    for name in runs['ids']:
        two = osp.join(runs['out'], name + '.instances.json')
        one = osp.join(runs['single'], name + '.instances.json')
        assert open(two, 'rb').read() == open(one, 'rb').read(), name
    assert open(runs['single'] + '.json', 'rb').read() == runs['merged']
