# Copyright (c) mmwsss contributors. All rights reserved.
"""Bad inputs across the stages, one table (issue 21).

Every case feeds one bad input (a CAM file, a setting, a box, an image, a
split list, an id, an existing output, a checkpoint) to the code that
reads it and asserts one of the honest outcomes:

- ``error``: an error whose message names the input (file path, setting or
  id), raised before any work where the input is known up front;
- ``item failure``: in a writer job, the item fails alone, is recorded in
  the manifest with the file named, and the other items are written;
- ``skip``: the input is skipped and counted;
- ``rewritten``: a damaged existing output is detected and written again;
- ``warning``: the input is used, with a warning that names it;
- ``kept``: a valid input that other code drops is kept.

``docs/bad_inputs.md`` is this table; ``python tests/test_bad_inputs.py``
writes it again after a case is added.
"""
import copy
import functools
import glob
import http.server
import io
import json
import os
import os.path as osp
import sys
import threading
from collections import Counter
from typing import Callable, List, NamedTuple

import mmdet
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner import checkpoint as mmengine_checkpoint
from PIL import Image
from scipy.io import savemat

from mmwsss.datasets import (ValidatedCocoDataset, ValidatedVOCDataset,
                             VOCWSSSDataset)
from mmwsss.datasets.transforms import (LoadCAMFile, LoadImageRGB,
                                        LoadLabelMap, MultiScaleResize)
from mmwsss.engine.runner import ItemsFailedError
from mmwsss.evaluation import CAMWriter
from mmwsss.fileio import (NameCollisionError, UnsafeNameError, read_cam_file,
                           read_label_map, read_mcg_proposals, save_npz,
                           write_cam_file, write_label_map)
from mmwsss.models.irn.path_index import get_path_index
from mmwsss.registry import MODELS
from mmwsss.testing import (free_port, make_tiny_cls_dataset,
                            write_tiny_mmpretrain_config)
from mmwsss.utils.checkpoint import (CheckpointMismatchError,
                                     load_state_dict_checked)
from mmwsss.utils.launch import build_runner, check_num_classes

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(ROOT, 'docs', 'bad_inputs.md')


class Case(NamedTuple):
    id: str
    stage: str
    input: str
    expected: str
    run: Callable


CASES: List[Case] = []


def case(id, stage, input, expected):  # noqa: A002 (the table's words)
    """Register the decorated ``run(tmp_path, fixtures)`` as a case."""

    def register(run):
        CASES.append(Case(id, stage, input, expected, run))
        return run

    return register


def raises(error, match, call, *args, **kwargs):
    with pytest.raises(error, match=match):
        call(*args, **kwargs)


# ---------------------------------------------------------------- CAM files


def _cams(k=2, size=(9, 14)):
    rng = np.random.default_rng(0)
    high_res = rng.random((k, ) + size, dtype=np.float32)
    return dict(
        keys=np.arange(k) * 2, strided=high_res[:, ::4, ::4],
        high_res=high_res)


def _bad_cam_file(tmp_path, change) -> str:
    cams = _cams()
    change(cams)
    path = str(tmp_path / 'bad.npz')
    save_npz(path, cams)
    return path


def _cam_value_case(id, input, change, message):

    @case(id, 'CAM file', input, 'error')
    def run(tmp_path, fx):
        path = _bad_cam_file(tmp_path, change)
        raises(ValueError, f'bad.npz.*{message}', read_cam_file, path,
               num_classes=5)


_cam_value_case(
    'cam-nan', 'NaN in high_res',
    lambda c: c['high_res'].__setitem__((0, 1, 1), np.nan), 'NaN or Inf')
_cam_value_case(
    'cam-inf', 'Inf in strided',
    lambda c: c['strided'].__setitem__((1, 0, 0), np.inf), 'NaN or Inf')
_cam_value_case(
    'cam-negative', 'negative value (NaN under cam_power)',
    lambda c: c['high_res'].__setitem__((1, 2, 3), -0.5), 'negative')
_cam_value_case('cam-negative-key', 'key -1',
                lambda c: c.__setitem__('keys', np.array([-1, 2])), '0-based')
_cam_value_case('cam-repeated-key', 'keys [2, 2]',
                lambda c: c.__setitem__('keys', np.array([2, 2])), 'repeat')
_cam_value_case('cam-key-out-of-range', 'key 5 of 5 classes',
                lambda c: c.__setitem__('keys', np.array([0, 5])),
                'beyond the 5')
_cam_value_case('cam-keys-not-1d', 'keys of shape (1, K)',
                lambda c: c.__setitem__('keys', c['keys'][None]), '1-D')
_cam_value_case('cam-keys-vs-maps', '1 key for 2 maps',
                lambda c: c.__setitem__('keys', c['keys'][:1]), '2 maps')
_cam_value_case('cam-maps-not-3d', 'strided of shape (h, w)',
                lambda c: c.__setitem__('strided', c['strided'][0]),
                r'\(K, h, w\)')


@case('cam-high-res-size', 'CAM file', 'high_res of another image size',
      'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'good.npz')
    write_cam_file(path, **_cams())
    raises(ValueError, r'good\.npz: high_res maps', read_cam_file, path,
           ('keys', 'high_res'), image_size=(9, 15))


@case('cam-strided-size', 'CAM file', 'strided of another image size',
      'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'good.npz')
    write_cam_file(path, **_cams())
    raises(ValueError, r'good\.npz: strided maps', read_cam_file, path,
           ('keys', 'strided'), image_size=(13, 14))


@case('cam-missing-array', 'CAM file', 'no high_res array', 'error')
def _(tmp_path, fx):
    cams = _cams()
    path = str(tmp_path / 'b.npz')
    write_cam_file(path, cams['keys'], cams['strided'])
    raises(KeyError, r"b\.npz has no \['high_res'\]", read_cam_file, path,
           ('keys', 'high_res'))


@case('cam-not-npz', 'CAM file', 'not a zip archive', 'error')
def _(tmp_path, fx):
    (tmp_path / 'broken.npz').write_bytes(b'not a zip')
    raises(ValueError, 'broken.npz', read_cam_file,
           str(tmp_path / 'broken.npz'))


@case('cam-truncated', 'CAM file', 'npz cut in half', 'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'cut.npz')
    write_cam_file(path, **_cams())
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])
    raises(ValueError, 'cut.npz', read_cam_file, path)


@case('cam-missing-file', 'CAM file', 'no CAM file for the image', 'error')
def _(tmp_path, fx):
    raises(FileNotFoundError, 'sv_1.npz', LoadCAMFile(str(tmp_path),
                                                      ('keys', )),
           dict(img_id='sv_1', ori_shape=(9, 14)))


@case('cam-num-classes-0', 'settings', 'LoadCAMFile(num_classes=0)',
      'error')
def _(tmp_path, fx):
    raises(ValueError, 'positive', LoadCAMFile, str(tmp_path), ('keys', ),
           num_classes=0)


# ------------------------------------------- writer jobs (IR labels, batch 8)


def _gt_cams(root: str, out: str) -> list:
    """CAM files of SynthVOC's train split made from its ground truth."""
    with open(osp.join(root, 'ImageSets/Segmentation/train.txt')) as f:
        ids = f.read().split()
    for img_id in ids:
        gt = read_label_map(
            osp.join(root, 'SegmentationClass', img_id + '.png'), 20)
        keys = np.array([v - 1 for v in np.unique(gt) if 0 < v < 255])
        high_res = np.stack([(gt == k + 1) for k in keys]).astype(np.float32)
        strided = F.interpolate(
            torch.from_numpy(high_res)[None],
            size=((gt.shape[0] - 1) // 4 + 1, (gt.shape[1] - 1) // 4 + 1),
            mode='bilinear',
            align_corners=False)[0].numpy()
        write_cam_file(
            osp.join(out, img_id + '.npz'), keys, strided,
            high_res / (1 + 1e-5))
    return sorted(ids)


@pytest.fixture(scope='module')
def ir_job(tiny_synthvoc, tmp_path_factory):
    """Good CAM files of the 8 train images and an (empty) checkpoint."""
    tmp = tmp_path_factory.mktemp('bad_inputs_ir')
    ckpt = str(tmp / 'cam.pth')
    torch.save(dict(state_dict={}), ckpt)
    ids = _gt_cams(tiny_synthvoc, str(tmp / 'cams'))
    return dict(tmp=tmp, data=tiny_synthvoc, ckpt=ckpt, ids=ids)


def _ir_runner(job, tmp_path, cams, out, **loop) -> Runner:
    """The SynthVOC IR-label job (CRF off) over the 8 train images in one
    batch, reading ``cams`` and writing ``out``."""
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/irn/ir-label_r18w32-os16_synthvoc.py'))
    cfg.model.crf = False
    cfg.model.pop('crf_cfg')
    cfg.model.num_workers = 0
    cfg.test_dataloader.update(
        batch_size=8, num_workers=0, persistent_workers=False)
    cfg.test_dataloader.dataset.data_root = job['data']
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cams,
            arrays=('keys', 'high_res'),
            num_classes=3),
        dict(type='mmwsss.LoadLabelMap', num_classes=3),
        dict(type='mmwsss.PackCAMInputs')
    ]
    cfg.test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir=out)]
    cfg.test_cfg.update(loop)
    cfg.load_from = job['ckpt']
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.pop('visualization', None)
    cfg.experiment_name = f'{tmp_path.name}_{len(os.listdir(tmp_path))}'
    return Runner.from_cfg(cfg)


def _pngs(out) -> dict:
    return {
        osp.basename(p): open(p, 'rb').read()
        for p in sorted(glob.glob(osp.join(out, '*.png')))
    }


def _manifest(out) -> dict:
    with open(osp.join(out, 'manifest.json')) as f:
        return json.load(f)


def _rewrite_cam(path, change):
    arrays = read_cam_file(path)
    change(arrays)
    save_npz(path, arrays)


def _truncate(path):
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:len(data) // 2])


# One CAM file of the batch of 8 damaged per case, all in one job run.
JOB_DAMAGE = dict(
    truncated=_truncate,
    nan=lambda p: _rewrite_cam(
        p, lambda a: a['high_res'].__setitem__((0, 0, 0), np.nan)),
    key_out_of_range=lambda p: _rewrite_cam(
        p, lambda a: a.__setitem__('keys', np.arange(3, 3 + len(a['keys'])))),
    wrong_size=lambda p: _rewrite_cam(
        p, lambda a: a.__setitem__('high_res', a['high_res'][:, :-1])))


@pytest.fixture(scope='module')
def ir_job_failures(ir_job, tmp_path_factory):
    """The IR-label job over CAM files of which :data:`JOB_DAMAGE` damaged
    4: the error, the manifest, the written labels and the damaged files."""
    tmp = tmp_path_factory.mktemp('bad_inputs_ir_failures')
    cams = str(tmp / 'cams')
    os.makedirs(cams)
    for name in os.listdir(str(ir_job['tmp'] / 'cams')):
        with open(str(ir_job['tmp'] / 'cams' / name), 'rb') as f:
            open(osp.join(cams, name), 'wb').write(f.read())
    damaged = {}
    for img_id, (kind, damage) in zip(ir_job['ids'][1:], JOB_DAMAGE.items()):
        damaged[kind] = osp.join(cams, img_id + '.npz')
        damage(damaged[kind])
    out = str(tmp / 'ir')
    with pytest.raises(ItemsFailedError) as error:
        _ir_runner(ir_job, tmp, cams, out).test()
    return dict(
        error=str(error.value),
        manifest=_manifest(out),
        written=sorted(_pngs(out)),
        damaged=damaged)


def _job_item_case(id, input, kind, message):
    """Only the image of the damaged CAM file fails, named with the file
    and the problem in the manifest; the good images are written."""

    @case(id, 'IR labels (job)', input, 'item failure')
    def run(tmp_path, fx):
        job, result = fx('ir_job'), fx('ir_job_failures')
        assert '4 items failed, 4 succeeded' in result['error']
        bad = {
            osp.basename(p)[:-len('.npz')]
            for p in result['damaged'].values()
        }
        assert result['written'] == [
            n + '.png' for n in job['ids'] if n not in bad
        ]
        path = result['damaged'][kind]
        failure = [
            json.dumps(f) for f in result['manifest']['failures']
            if path in json.dumps(f)
        ]
        assert len(failure) == 1 and message in failure[0], failure


_job_item_case('job-cam-truncated',
               'one truncated CAM file in a batch of 8', 'truncated',
               'Cannot read CAM file')
_job_item_case('job-cam-nan', 'one CAM file with NaN in a batch of 8', 'nan',
               'NaN or Inf')
_job_item_case('job-cam-key-out-of-range',
               'one CAM file with key 3 of 3 classes in a batch of 8',
               'key_out_of_range', 'beyond the 3')
_job_item_case('job-cam-wrong-size',
               'one CAM file of another image size in a batch of 8',
               'wrong_size', 'high_res maps')

# Existing outputs damaged before a rerun, all in one rerun.
RESUME_DAMAGE = dict(
    truncated=lambda path, good: open(path, 'wb').write(good[:len(good) //
                                                             2]),
    undecodable=lambda path, good: open(path, 'wb').write(good[:8] + b'\0' * (
        len(good) - 20) + good[-12:]))


@pytest.fixture(scope='module')
def ir_job_resumed(ir_job, tmp_path_factory):
    """The IR-label job run, 2 of its PNGs damaged (:data:`RESUME_DAMAGE`),
    run again: the files of both runs, the manifest and the damaged
    names."""
    tmp = tmp_path_factory.mktemp('bad_inputs_ir_resume')
    cams = str(ir_job['tmp'] / 'cams')
    out = str(tmp / 'ir')
    _ir_runner(ir_job, tmp, cams, out).test()
    first = _pngs(out)
    damaged = {}
    for img_id, (kind, damage) in zip(ir_job['ids'][2:],
                                      RESUME_DAMAGE.items()):
        damaged[kind] = img_id + '.png'
        damage(osp.join(out, damaged[kind]), first[damaged[kind]])
    _ir_runner(ir_job, tmp, cams, out).test()
    return dict(
        first=first, again=_pngs(out), manifest=_manifest(out),
        damaged=damaged)


def _resume_case(id, input, kind):

    @case(id, 'IR labels (resume)', input, 'rewritten')
    def run(tmp_path, fx):
        result = fx('ir_job_resumed')
        name = result['damaged'][kind]
        assert result['again'][name] == result['first'][name]
        assert result['again'] == result['first']
        manifest = result['manifest']
        assert name in manifest['damaged_rewritten']
        assert manifest['skipped_existing'] == 6
        assert manifest['failures'] == []


_resume_case('resume-png-truncated', 'existing output PNG cut in half',
             'truncated')
_resume_case(
    'resume-png-undecodable',
    'existing output PNG with signature and IEND but scrambled data',
    'undecodable')


@case('resume-npz-truncated', 'CAM writer', 'existing CAM file cut in half',
      'rewritten')
def _(tmp_path, fx):
    sample = dict(
        img_id='a',
        cam_keys=[0],
        cam_strided=[[[0.5]]],
        cam_high_res=[[[0.5]]])
    CAMWriter(output_dir=str(tmp_path)).process(None, [dict(sample)])
    path = str(tmp_path / 'a.npz')
    good = open(path, 'rb').read()
    _truncate(path)
    writer = CAMWriter(output_dir=str(tmp_path))
    assert not writer.has_output(sample)
    assert writer.damaged == {path}
    writer.process(None, [dict(sample)])
    assert open(path, 'rb').read() == good


# ---------------------------------------------------------------- settings

TINY_IRNET = dict(
    backbone=dict(
        type='mmpretrain.ResNet', depth=18, base_channels=8,
        out_indices=(0, 1, 2, 3)),
    in_channels=(64, 8, 16, 32, 64))


def _setting_case(id, model, setting, message):

    arguments = ', '.join(f'{k}={v}' for k, v in setting.items())

    @case(id, 'settings', f'{model}({arguments})', 'error')
    def run(tmp_path, fx):
        extra = TINY_IRNET if 'Walk' in model else {}
        raises(ValueError, f'{model}: {message}', MODELS.build,
               dict(type=f'mmwsss.{model}', **extra, **setting))


_setting_case('walk-beta-0', 'IRNetRandomWalk', dict(beta=0),
              'beta must be > 0')
_setting_case('walk-cam-power-negative', 'IRNetRandomWalk',
              dict(cam_power=-1.5), 'cam_power must be > 0')
_setting_case('walk-cam-power-0', 'IRNetRandomWalk', dict(cam_power=0),
              'cam_power must be > 0')
_setting_case('walk-exp-times-float', 'IRNetRandomWalk',
              dict(exp_times=2.5), 'exp_times must be an integer')
_setting_case('walk-radius-0', 'IRNetRandomWalk', dict(walk_radius=0),
              'walk_radius must be')
_setting_case('walk-bg-threshold', 'IRNetRandomWalk', dict(bg_threshold=1.2),
              'bg_threshold must lie')
_setting_case('ins-min-area-ratio', 'IRNetInstanceWalk',
              dict(min_area_ratio=2), 'min_area_ratio must lie')
_setting_case('ins-centre-threshold', 'IRNetInstanceWalk',
              dict(centre_threshold=0), 'centre_threshold')
_setting_case('ins-centroid-iterations', 'IRNetInstanceWalk',
              dict(centroid_iterations=-1), 'centroid_iter')
_setting_case('ir-fg-threshold', 'IRLabelGenerator', dict(fg_threshold=1.5),
              'fg_threshold must lie')
_setting_case('ir-bg-threshold', 'IRLabelGenerator', dict(bg_threshold=-0.1),
              'bg_threshold must lie')
_setting_case('ir-bg-above-fg', 'IRLabelGenerator',
              dict(fg_threshold=0.1, bg_threshold=0.2),
              'expected 0 <= bg_threshold <= fg_threshold')


@case('scales-zero', 'settings', 'MultiScaleResize(scales=(1.0, 0.0))',
      'error')
def _(tmp_path, fx):
    raises(ValueError, 'scales must be positive', MultiScaleResize,
           scales=(1.0, 0.0))


@case('scales-negative', 'settings', 'MultiScaleResize(scales=(-0.5,))',
      'error')
def _(tmp_path, fx):
    raises(ValueError, 'scales must be positive', MultiScaleResize,
           scales=(-0.5, ))


@case('radius-vs-grid', 'settings', 'IRNet pair radius 10 on a 4x4 grid',
      'error')
def _(tmp_path, fx):
    raises(ValueError, r'Grid \(4, 4\) is too small for radius 10',
           get_path_index, 10, (4, 4))


def _num_classes_case(id, input, changes, named):

    @case(id, 'settings', input, 'error')
    def run(tmp_path, fx):
        cfg = Config.fromfile(
            osp.join(ROOT,
                     'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'))
        check_num_classes(cfg)  # the shipped config agrees with itself
        cfg.merge_from_dict(changes)
        cfg.launcher = 'none'
        cfg.work_dir = str(tmp_path)
        with pytest.raises(ValueError) as error:
            build_runner(cfg)
        for key in named:
            assert key in str(error.value), str(error.value)


_num_classes_case('num-classes-head', 'model.head.num_classes=5 of 6',
                  {'model.head.num_classes': 5},
                  ['model.head.num_classes=5',
                   'model.data_preprocessor.num_classes=6'])
_num_classes_case(
    'num-classes-preprocessor', 'model.data_preprocessor.num_classes=20 of 6',
    {'model.data_preprocessor.num_classes': 20},
    ['model.data_preprocessor.num_classes=20', 'model.head.num_classes=6'])


@case('label-beyond-classes', 'labels', 'label value 7 with num_classes=3',
      'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'lab.png')
    write_label_map(path, np.full((4, 5), 7, np.uint8))
    raises(ValueError, r'lab\.png has values \[7\]', read_label_map, path, 3)


# ------------------------------------------------------------------- BBAM

FASTER_RCNN = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_', 'models',
    'faster-rcnn_r50_fpn.py')


def _tiny_detector(num_classes: int = 3) -> dict:
    """Faster R-CNN from mmdet's base config, ResNet-18 at 1/8 width."""
    model = copy.deepcopy(Config.fromfile(FASTER_RCNN).model.to_dict())
    model['backbone'].update(depth=18, base_channels=8, init_cfg=None)
    model['neck'].update(in_channels=[8, 16, 32, 64], out_channels=16)
    model['rpn_head'].update(in_channels=16, feat_channels=16)
    model['roi_head']['bbox_roi_extractor']['out_channels'] = 16
    model['roi_head']['bbox_head'].update(
        in_channels=16, fc_out_channels=32, num_classes=num_classes)
    return model


def _bbam(**kwargs):
    return MODELS.build(
        dict(type='mmwsss.BBAM', detector=_tiny_detector(), **kwargs))


@case('bbam-fg-rank-fraction', 'settings',
      'BBAM pseudo_mask_cfg fg_rank_fraction=1.5', 'error')
def _(tmp_path, fx):
    raises(ValueError, 'fg_rank_fraction must lie', _bbam,
           pseudo_mask_cfg=dict(fg_rank_fraction=1.5))


@case('bbam-ignore-rank-fraction', 'settings',
      'BBAM pseudo_mask_cfg ignore_rank_fraction=-0.2', 'error')
def _(tmp_path, fx):
    raises(ValueError, 'ignore_rank_fraction must lie', _bbam,
           pseudo_mask_cfg=dict(ignore_rank_fraction=-0.2))


@case('bbam-mcg-count', 'settings',
      "BBAM pseudo_mask_cfg mcg_count='coords'", 'error')
def _(tmp_path, fx):
    raises(ValueError, 'mcg_count must be one of', _bbam,
           pseudo_mask_cfg=dict(mcg_dir=str(tmp_path), mcg_count='coords'))


@case('bbam-mcg-setting-without-dir', 'settings',
      'BBAM pseudo_mask_cfg mcg_semantic=True without mcg_dir', 'error')
def _(tmp_path, fx):
    raises(TypeError, r"\['mcg_semantic'\] need mcg_dir", _bbam,
           pseudo_mask_cfg=dict(mcg_semantic=True))


def _mcg_file(tmp_path, proposals=((1, 2), (12, )), **change) -> str:
    """An MCG file of a 6 x 12 image (12 superpixels), its ``proposals`` a
    cell array, with ``change``d fields (None: left out)."""
    superpixels = np.arange(1, 13).reshape(3, 4).repeat(2, 0).repeat(3, 1)
    cells = np.empty((len(proposals), 1), dtype=object)
    for p, ids in enumerate(proposals):
        cells[p, 0] = np.array(ids, dtype=np.float64).reshape(-1, 1)
    data = dict(
        superpixels=superpixels.astype(np.uint16),
        labels=cells,
        scores=np.array([[0.9], [0.1]]))
    data.update(change)
    path = str(tmp_path / '2008_000002.mat')
    savemat(path, {k: v for k, v in data.items() if v is not None})
    return path


def _mcg_case(id, input, error, message, image_size=None, **change):

    @case(id, 'MCG proposals', input, 'error')
    def run(tmp_path, fx):
        raises(error, f'2008_000002.mat.*{message}', read_mcg_proposals,
               _mcg_file(tmp_path, **change), image_size)


@case('mcg-missing-file', 'MCG proposals', 'no MCG file for the image',
      'error')
def _(tmp_path, fx):
    raises(FileNotFoundError, '2008_000002.mat: no MCG proposal file',
           read_mcg_proposals, str(tmp_path / '2008_000002.mat'))


@case('mcg-not-mat', 'MCG proposals', 'not a MATLAB file', 'error')
def _(tmp_path, fx):
    (tmp_path / '2008_000002.mat').write_bytes(b'not a mat file')
    raises(ValueError, '2008_000002.mat: not a readable MATLAB file',
           read_mcg_proposals, str(tmp_path / '2008_000002.mat'))


_mcg_case('mcg-missing-labels', 'no labels field', KeyError,
          r"no \['labels'\]", labels=None)
_mcg_case('mcg-superpixels-0-based', 'superpixel ids from 0', ValueError,
          '1-based', superpixels=np.zeros((6, 12), dtype=np.uint16))
_mcg_case('mcg-superpixels-not-2d', 'superpixels of shape (2, H, W)',
          ValueError, r'\(H, W\)',
          superpixels=np.ones((2, 6, 12), dtype=np.uint16))
_mcg_case('mcg-superpixels-size', 'superpixels of another image size',
          ValueError, r'size \(6, 12\).*\(6, 13\)', image_size=(6, 13))
_mcg_case('mcg-label-out-of-range', 'proposal naming superpixel 13 of 12',
          ValueError,
          r'proposal 1 names superpixel 13; the ids are the integers 1\.\.12',
          proposals=((1, ), (13, )))
_mcg_case('mcg-labels-not-cell', 'labels a numeric matrix, not a cell array',
          ValueError, 'cell array', labels=np.ones((2, 3)))
_mcg_case('mcg-scores-count', '3 scores for 2 proposals', ValueError,
          '3 scores for 2 proposals', scores=np.ones((3, 1)))


def _detector(num_classes: int = 3):
    torch.manual_seed(0)
    return MODELS.build(
        ConfigDict(_tiny_detector(num_classes), _scope_='mmdet'))


def _detector_checkpoint(path, num_classes):
    detector = _detector(num_classes)
    torch.save(dict(state_dict=detector.state_dict()), path)


@case('bbam-detector-other-classes', 'checkpoint',
      'BBAM detector_checkpoint of a 5-class detector for 3 classes',
      'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'det5.pth')
    _detector_checkpoint(path, 5)
    with pytest.raises(CheckpointMismatchError) as error:
        _bbam(detector_checkpoint=path)
    message = str(error.value)
    assert path in message and 'size mismatch' in message
    assert 'detector_checkpoint_strict=False' in message
    # on purpose: the fitting part only
    _bbam(detector_checkpoint=path, detector_checkpoint_strict=False)


@case('bbam-detector-cam-checkpoint', 'checkpoint',
      'BBAM detector_checkpoint holding a CAM classifier', 'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'cam.pth')
    torch.save(dict(state_dict=_cam_model(6).state_dict()), path)
    raises(CheckpointMismatchError, f'"{path}" does not fit the model',
           _bbam, detector_checkpoint=path)


@case('bbam-detector-fits', 'checkpoint',
      'BBAM detector_checkpoint of the same detector (control)', 'kept')
def _(tmp_path, fx):
    path = str(tmp_path / 'det3.pth')
    _detector_checkpoint(path, 3)
    saved = torch.load(path, weights_only=True)['state_dict']
    model = _bbam(detector_checkpoint=path)
    for name, value in model.detector.state_dict().items():
        assert torch.equal(value, saved[name]), name


# ------------------------------------------------------------------ boxes

CATEGORIES = [dict(id=1, name='cat'), dict(id=2, name='dog')]


def _coco(tmp_path, annotations, images=None, classes=('cat', 'dog'),
          **kwargs):
    images = images or [dict(id=1, file_name='a.jpg', height=10, width=20)]
    for i, ann in enumerate(annotations, 1):
        ann.setdefault('id', i)
        ann.setdefault('image_id', 1)
    path = tmp_path / 'instances.json'
    path.write_text(
        json.dumps(
            dict(images=images, annotations=annotations,
                 categories=CATEGORIES)))
    return ValidatedCocoDataset(
        ann_file=str(path),
        data_prefix=dict(img=str(tmp_path)),
        metainfo=dict(classes=classes),
        test_mode=True,
        **kwargs)


def _coco_case(id, input, annotation, message):

    @case(id, 'boxes (COCO)', input, 'error')
    def run(tmp_path, fx):
        raises(ValueError, f'(a.jpg annotation 1|instances.json): .*'
               f'{message}', _coco, tmp_path, [annotation])


_coco_case('coco-inverted', 'box of width -2',
           dict(category_id=1, bbox=[5, 5, -2, 3]), 'inverted')
_coco_case('coco-zero-area', 'box of width 0',
           dict(category_id=1, bbox=[5, 5, 0, 3]), 'no area')
_coco_case('coco-outside', 'box outside the image',
           dict(category_id=1, bbox=[50, 5, 2, 3]), 'outside the 20x10')
_coco_case('coco-nan', 'NaN coordinate',
           dict(category_id=1, bbox=[float('nan'), 5, 2, 3]), 'finite')
_coco_case('coco-three-numbers', 'bbox of 3 numbers',
           dict(category_id=1, bbox=[1, 2, 3]), 'finite')
_coco_case('coco-no-bbox', 'annotation without bbox', dict(category_id=1),
           r"no \['bbox'\]")
_coco_case('coco-no-category', 'annotation without category_id',
           dict(bbox=[1, 2, 3, 4]), "lacks the field 'category_id'")
_coco_case('coco-unknown-category', 'category 7 not in the json',
           dict(category_id=7, bbox=[1, 2, 3, 4]), 'category 7 is not among')


@case('coco-image-no-size', 'boxes (COCO)', 'image record without height',
      'error')
def _(tmp_path, fx):
    with pytest.raises((ValueError, KeyError)) as error:
        _coco(tmp_path, [dict(category_id=1, bbox=[1, 1, 2, 2])],
              images=[dict(id=1, file_name='a.jpg', width=20)])
    assert 'instances.json' in str(error.value) or 'a.jpg' in str(
        error.value), str(error.value)


@case('coco-area-0-kept', 'boxes (COCO)', 'valid box whose area field is 0',
      'kept')
def _(tmp_path, fx):
    dataset = _coco(tmp_path,
                    [dict(category_id=1, bbox=[1, 1, 4, 4], area=0)])
    assert [i['bbox'] for i in dataset.get_data_info(0)['instances']
            ] == [[1, 1, 5, 5]]


@case('coco-clipped', 'boxes (COCO)', 'box reaching outside the image',
      'skip')
def _(tmp_path, fx):
    dataset = _coco(tmp_path,
                    [dict(category_id=2, bbox=[15, 5, 10, 10], area=100)])
    assert [i['bbox'] for i in dataset.get_data_info(0)['instances']
            ] == [[15, 5, 20, 10]]
    assert dataset.box_report.as_dict()['counts'] == {
        'clipped to the image': 1
    }


@case('coco-skip-policy', 'boxes (COCO)',
      "inverted box and unlisted class with invalid_box='skip'", 'skip')
def _(tmp_path, fx):
    dataset = _coco(
        tmp_path, [
            dict(category_id=1, bbox=[5, 5, -2, 3]),
            dict(category_id=2, bbox=[1, 1, 2, 2]),
            dict(category_id=1, bbox=[3, 3, 2, 2]),
        ],
        classes=('cat', ),
        invalid_box='skip')
    assert [i['bbox'] for i in dataset.get_data_info(0)['instances']
            ] == [[3, 3, 5, 5]]
    assert dataset.box_report.as_dict()['counts'] == {
        'skipped: invalid box': 1,
        'skipped: category not in the config classes': 1
    }


def _voc(tmp_path, objects):
    root = tmp_path / 'VOC2012'
    for folder in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(root / folder)
    (root / 'ImageSets' / 'Main' / 'train.txt').write_text('a\n')
    Image.new('RGB', (20, 10)).save(root / 'JPEGImages' / 'a.jpg')
    body = ''.join(
        f'<object><name>{name}</name><difficult>0</difficult><bndbox>'
        f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for name, (x1, y1, x2, y2) in objects)
    (root / 'Annotations' / 'a.xml').write_text(
        '<annotation><size><width>20</width><height>10</height></size>'
        f'{body}</annotation>')
    return ValidatedVOCDataset(
        data_root=str(tmp_path),
        ann_file='VOC2012/ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root='VOC2012/'),
        test_mode=True)


def _voc_case(id, input, objects, message):

    @case(id, 'boxes (VOC)', input, 'error')
    def run(tmp_path, fx):
        raises(ValueError, f'a.xml object 0.*{message}', _voc, tmp_path,
               objects)


_voc_case('voc-unknown-class', "class 'unicorn'",
          [('unicorn', (2, 2, 6, 6))], "unknown class 'unicorn'")
_voc_case('voc-nan', "xmin 'nan'", [('cat', ('nan', 2, 6, 6))],
          "xmin is 'nan'")
_voc_case('voc-empty-coordinate', 'empty xmin', [('cat', ('', 2, 6, 6))],
          "xmin is '', not a number")
_voc_case('voc-inverted', 'xmin > xmax', [('cat', (8, 2, 6, 6))],
          'inverted')

# ------------------------------------------------------------------ images


def _jpeg(path, size=(64, 80), **kwargs) -> bytes:
    rng = np.random.default_rng(0)
    pixels = (rng.random((*size, 3)) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, 'JPEG', quality=90, **kwargs)
    data = buffer.getvalue()
    open(path, 'wb').write(data)
    return data


@case('image-1x1', 'images', '1x1 image with test scale 0.5', 'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'tiny.png')
    Image.new('RGB', (1, 1)).save(path)
    results = LoadImageRGB()(dict(img_path=path))
    raises(ValueError, r'tiny.png is 1x1 .*scale 0.5',
           MultiScaleResize(scales=(1.0, 0.5)), results)


@case('jpeg-truncated', 'images', 'JPEG cut in half', 'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'cut.jpg')
    data = _jpeg(path)
    open(path, 'wb').write(data[:len(data) // 2])
    raises(ValueError, f'Cannot read image {path}', LoadImageRGB(),
           dict(img_path=path))


def _jpeg_with_noise(tmp_path, seed) -> str:
    """A JPEG whose body has 500 random bytes (drawn with ``seed``)."""
    path = str(tmp_path / 'garbage.jpg')
    data = _jpeg(path)
    middle = len(data) // 2
    noise = np.random.default_rng(seed).integers(0, 256, 500, np.uint8)
    open(path, 'wb').write(data[:middle] + noise.tobytes() +
                           data[middle + 500:])
    return path


@case('jpeg-garbage-undecodable', 'images',
      'JPEG body overwritten with random bytes that stop the decoder',
      'error')
def _(tmp_path, fx):
    path = _jpeg_with_noise(tmp_path, 0)
    raises(ValueError, f'Cannot read image {path}', LoadImageRGB(),
           dict(img_path=path))


@case('jpeg-garbage-decodes', 'images',
      'JPEG body overwritten with random bytes that decode (to garbage)',
      'warning')
def _(tmp_path, fx):
    path = _jpeg_with_noise(tmp_path, 1)
    with pytest.warns(UserWarning, match=f'Damaged JPEG {path}: truncated'):
        LoadImageRGB()(dict(img_path=path))


@case('jpeg-zero-filled', 'images',
      'JPEG with a zero-filled block (decodes to garbage)', 'warning')
def _(tmp_path, fx):
    path = str(tmp_path / 'zeros.jpg')
    data = _jpeg(path)
    middle = len(data) // 2
    open(path, 'wb').write(data[:middle] + bytes(600) + data[middle + 600:])
    with pytest.warns(UserWarning,
                      match=f'Damaged JPEG {path}: 600 zero bytes'):
        results = LoadImageRGB()(dict(img_path=path))
    assert results['img'].shape == (64, 80, 3)


@case('jpeg-intact', 'images',
      'intact baseline, progressive and flat optimised JPEGs (control)',
      'kept')
def _(tmp_path, fx):
    import warnings
    flat = np.zeros((400, 400, 3), np.uint8)
    paths = [str(tmp_path / f'{i}.jpg') for i in range(4)]
    _jpeg(paths[0])
    _jpeg(paths[1], progressive=True)
    for path, kwargs in ((paths[2], dict(optimize=True)),
                         (paths[3], dict(progressive=True))):
        Image.fromarray(flat).save(path, 'JPEG', **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        for path in paths:
            LoadImageRGB()(dict(img_path=path))


@case('image-missing', 'images', 'image file absent', 'error')
def _(tmp_path, fx):
    path = str(tmp_path / 'absent.jpg')
    raises(FileNotFoundError, path, LoadImageRGB(), dict(img_path=path))


@case('image-not-an-image', 'images', 'text file named .jpg', 'error')
def _(tmp_path, fx):
    path = tmp_path / 'text.jpg'
    path.write_text('hello')
    raises(ValueError, f'Cannot read image {path}', LoadImageRGB(),
           dict(img_path=str(path)))


# ---------------------------------------------- split lists, ids and names


def _voc_wsss(tiny_synthvoc, split):
    return VOCWSSSDataset(
        data_root=tiny_synthvoc,
        ann_file=str(split),
        data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
        label_source='xml')


@case('split-duplicate-id', 'split list', 'an id listed twice', 'error')
def _(tmp_path, fx):
    split = tmp_path / 'dup.txt'
    split.write_text('sv_000000\nsv_000001\nsv_000000\n')
    with pytest.raises(ValueError) as error:
        _voc_wsss(fx('tiny_synthvoc'), split)
    message = str(error.value)
    assert str(split) in message and 'sv_000000' in message, message


@case('split-traversal-id', 'split list', "id '../../escape'", 'error')
def _(tmp_path, fx):
    split = tmp_path / 'bad.txt'
    split.write_text('sv_000000\n../../escape\n')
    with pytest.raises(UnsafeNameError) as error:
        _voc_wsss(fx('tiny_synthvoc'), split)
    assert "'../../escape'" in str(error.value)
    assert f'{split}, line 2' in str(error.value)


def _writer_id_case(id, img_id):

    @case(id, 'writers', f'image id {img_id!r}', 'error')
    def run(tmp_path, fx):
        sample = dict(img_id=img_id, cam_keys=[0], cam_strided=[[[0.5]]],
                      cam_high_res=[[[0.5]]])
        with pytest.raises(UnsafeNameError, match='Unsafe image id'):
            CAMWriter(output_dir=str(tmp_path / 'out')).process(
                None, [sample])
        with pytest.raises(UnsafeNameError):
            LoadCAMFile(str(tmp_path), ('keys', )).transform(dict(sample))
        assert not osp.exists(tmp_path / 'out')
        assert os.listdir(tmp_path) == []


_writer_id_case('id-traversal', '../../x')
_writer_id_case('id-absolute', '/tmp/x')
_writer_id_case('id-inner-traversal', 'a/../../b')


@case('name-collision', 'writers', 'a/img.jpg and b/img.jpg (no img_id)',
      'error')
def _(tmp_path, fx):
    writer = CAMWriter(output_dir=str(tmp_path))
    sample = dict(
        img_path='a/img.jpg',
        cam_keys=[0],
        cam_strided=[[[0.5]]],
        cam_high_res=[[[0.5]]])
    writer.process(None, [sample])
    first = open(tmp_path / 'img.npz', 'rb').read()
    with pytest.raises(NameCollisionError, match='a/img.jpg and b/img.jpg'):
        writer.process(None, [dict(sample, img_path='b/img.jpg')])
    assert os.listdir(str(tmp_path)) == ['img.npz']
    assert open(tmp_path / 'img.npz', 'rb').read() == first


@case('ir-label-wrong-size', 'IRNet training',
      'IR-label map of another size than its image', 'error')
def _(tmp_path, fx):
    image = str(tmp_path / 'im.png')
    Image.new('RGB', (20, 10)).save(image)
    label = str(tmp_path / 'lab.png')
    write_label_map(label, np.zeros((10, 21), np.uint8))
    results = LoadImageRGB()(dict(img_path=image, seg_map_path=label))
    with pytest.raises(ValueError) as error:
        LoadLabelMap(num_classes=3)(results)
    assert label in str(error.value) and image in str(error.value)


# ------------------------------------------------------------- checkpoints


def _cam_model(num_classes):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(
        osp.join(ROOT,
                 'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'))
    cfg.model.head.num_classes = num_classes
    cfg.model.data_preprocessor.num_classes = num_classes
    cfg.model.backbone.pop('init_cfg', None)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


@case('ckpt-other-classes', 'checkpoint',
      'CAM classifier checkpoint of 5 classes for 6', 'error')
def _(tmp_path, fx):
    with pytest.raises(CheckpointMismatchError) as error:
        load_state_dict_checked(_cam_model(6), _cam_model(5).state_dict(),
                                'other.pth')
    assert 'Checkpoint "other.pth" does not fit' in str(error.value)
    assert 'size mismatch for head' in str(error.value)


@case('ckpt-detector-for-cam', 'checkpoint',
      'detector checkpoint for a CAM classifier', 'error')
def _(tmp_path, fx):
    detector = _detector().state_dict()
    with pytest.raises(CheckpointMismatchError) as error:
        load_state_dict_checked(_cam_model(6), detector, 'det.pth')
    message = str(error.value)
    assert message.startswith('Checkpoint "det.pth" does not fit'), message
    assert '30 of its weights are not in the model: neck.' in message


@case('ckpt-empty', 'checkpoint', 'empty state dict', 'error')
def _(tmp_path, fx):
    raises(CheckpointMismatchError, '"e.pth" holds no',
           load_state_dict_checked, _cam_model(6),
           dict(state_dict={}, meta={}), 'e.pth')


@pytest.fixture(scope='module')
def tiny_trained(tmp_path_factory):
    """A tiny mmpretrain run of 2 iterations (checkpoint iter_2.pth)."""
    root = tmp_path_factory.mktemp('bad_inputs_train')
    data_root = make_tiny_cls_dataset(str(root / 'data'), per_class=2)
    cfg = Config.fromfile(
        write_tiny_mmpretrain_config(
            str(root / 'tiny.py'), data_root, max_iters=2))
    cfg.work_dir = str(root / 'work')
    cfg.launcher = 'none'
    build_runner(cfg.copy()).train()
    return cfg


@case('ckpt-truncated-latest', 'checkpoint',
      '--resume with the latest checkpoint cut in half', 'error')
def _(tmp_path, fx):
    cfg = fx('tiny_trained').copy()
    latest = osp.join(tmp_path, 'iter_2.pth')
    data = open(osp.join(cfg.work_dir, 'iter_2.pth'), 'rb').read()
    open(latest, 'wb').write(data[:len(data) // 2])
    open(osp.join(tmp_path, 'last_checkpoint'), 'w').write(latest)
    cfg.work_dir = str(tmp_path)
    cfg.resume = True
    with pytest.raises(RuntimeError) as error:
        build_runner(cfg).train()
    assert f'Could not read checkpoint "{latest}": it is truncated' in str(
        error.value)


class _WritesMarker:
    """Pickles into ``open(marker, 'w')``: loading it creates the file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture(scope='module')
def served(tmp_path_factory):
    """``evil.pth`` (a payload writing ``marker``) served over HTTP on
    127.0.0.1."""
    tmp = tmp_path_factory.mktemp('bad_inputs_served')
    folder = tmp / 'www'
    folder.mkdir()
    marker = tmp / 'pwned'
    torch.save(
        dict(
            state_dict=torch.nn.Linear(2, 1).state_dict(),
            meta=_WritesMarker(str(marker))), folder / 'evil.pth')
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', free_port()),
        functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield dict(
        url=f'http://127.0.0.1:{server.server_address[1]}/evil.pth',
        folder=folder,
        marker=marker)
    server.shutdown()
    server.server_close()


def _assert_payload_refused(name, marker, tmp_path, patches=()):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
        patch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
        for table, value in patches:
            patch.setattr(mmengine_checkpoint, table, value)
        with pytest.raises(RuntimeError,
                           match='Refused to load checkpoint') as error:
            CheckpointLoader.load_checkpoint(name, map_location='cpu')
    assert 'io.open' in str(error.value)
    assert not marker.exists()
    assert not glob.glob(str(tmp_path / 'hub' / '**' / 'evil.pth'),
                         recursive=True)


@case('ckpt-payload-local', 'checkpoint',
      'local checkpoint running code when unpickled', 'error')
def _(tmp_path, fx):
    served = fx('served')
    _assert_payload_refused(
        str(served['folder'] / 'evil.pth'), served['marker'], tmp_path)


def _remote_case(id, scheme, table):

    @case(id, 'checkpoint', f'{scheme} checkpoint running code when '
          'unpickled (served on 127.0.0.1)', 'error')
    def run(tmp_path, fx):
        served = fx('served')
        if table is None:
            name, patches = served['url'], ()
        else:
            name = f'{scheme}evil'
            patches = ((table, lambda: dict(evil=served['url'])), )
        _assert_payload_refused(name, served['marker'], tmp_path, patches)


_remote_case('ckpt-payload-http', 'http://', None)
_remote_case('ckpt-payload-torchvision', 'torchvision://',
             'get_torchvision_models')
_remote_case('ckpt-payload-modelzoo', 'modelzoo://', 'get_torchvision_models')
_remote_case('ckpt-payload-open-mmlab', 'open-mmlab://',
             'get_external_models')
_remote_case('ckpt-payload-openmmlab', 'openmmlab://', 'get_external_models')
_remote_case('ckpt-payload-mmcls', 'mmcls://', 'get_mmcls_models')

# ------------------------------------------------------------------ tests


@pytest.mark.parametrize('bad', CASES, ids=[c.id for c in CASES])
def test_bad_input(bad, tmp_path, request):
    bad.run(tmp_path, request.getfixturevalue)


def markdown_table() -> str:
    """The case table of ``docs/bad_inputs.md``."""
    counts = Counter(c.expected for c in CASES)
    lines = [
        '# Bad inputs', '',
        'Generated from `tests/test_bad_inputs.py` (`python '
        'tests/test_bad_inputs.py` writes it); the test module checks that '
        'this table lists exactly its cases.', '',
        'Outcomes: **error** names the input (file, setting or id), before '
        'any work where the input is known up front; **item failure** fails '
        'the item alone in a writer job, recorded in the manifest with the '
        'file named, and the other items are written; **skip** is counted; '
        '**rewritten**: a damaged existing output is written again; '
        '**warning** names the file; **kept**: a valid input is not dropped '
        '(or a control case).', '',
        f'{len(CASES)} cases: ' + ', '.join(
            f'{n} {o}' for o, n in counts.items()) + '.', '',
        '| id | stage | input | expected |', '|---|---|---|---|'
    ]
    lines += [
        f'| `{c.id}` | {c.stage} | {c.input.replace("|", "/")} | '
        f'{c.expected} |' for c in CASES
    ]
    return '\n'.join(lines) + '\n'


def test_the_doc_lists_exactly_the_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), 'case ids must be unique'
    assert len(ids) >= 60
    with open(DOC) as f:
        doc = f.read()
    listed = [
        line.split('`')[1] for line in doc.splitlines()
        if line.startswith('| `')
    ]
    assert listed == ids, 'run python tests/test_bad_inputs.py'
    assert doc == markdown_table(), 'run python tests/test_bad_inputs.py'


if __name__ == '__main__':
    os.makedirs(osp.dirname(DOC), exist_ok=True)
    with open(DOC, 'w') as f:
        f.write(markdown_table())
    print(f'{DOC}: {len(CASES)} cases', file=sys.stderr)
