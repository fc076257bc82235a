# Copyright (c) mmwsss contributors. All rights reserved.
"""Long writer jobs (IR labels from CAM files on SynthVOC, in process):
stale folders refused, resumes identical, per-item failures, damaged
outputs rewritten, manifests always written."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner

from mmwsss.engine.runner import ItemsFailedError
from mmwsss.evaluation.writers import StaleOutputError
from mmwsss.fileio import read_label_map, write_cam_file
from mmwsss.testing import run_tool

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))


def _ir_config() -> str:
    # The IR-label config of SynthVOC, under its old or its new name.
    found = sorted(glob.glob(osp.join(ROOT, 'configs/irn/ir-label_*synthvoc.py')))
    assert found, 'no IR-label SynthVOC config'
    return found[0]


def write_cams(root: str, out: str, scale: float = 1.0) -> list:
    """CAMs made from the ground truth of SynthVOC's train split."""
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
            scale * high_res / (1 + 1e-5))
    return ids


@pytest.fixture(scope='module')
def job(tiny_synthvoc, tmp_path_factory):
    """CAM folders and a checkpoint for IR-label runs."""
    tmp = tmp_path_factory.mktemp('writer_jobs')
    ckpt = str(tmp / 'cam.pth')
    torch.save(dict(state_dict={}), ckpt)
    ids = write_cams(tiny_synthvoc, str(tmp / 'cams'))
    # Other CAMs: weaker maps, so other IR labels.
    write_cams(tiny_synthvoc, str(tmp / 'cams_other'), scale=0.2)
    return dict(tmp=tmp, data=tiny_synthvoc, ckpt=ckpt, ids=sorted(ids))


def ir_runner(job, out, cams=None, work='work', **loop) -> Runner:
    """An IR-label job (one batch of the 8 train images) into ``out``."""
    cfg = Config.fromfile(_ir_config())
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
            cam_dir=cams or str(job['tmp'] / 'cams'),
            arrays=('keys', 'high_res')),
        dict(type='mmwsss.LoadLabelMap', num_classes=3),
        dict(type='mmwsss.PackCAMInputs')
    ]
    cfg.test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir=out)]
    cfg.test_cfg.update(loop)
    cfg.load_from = job['ckpt']
    cfg.work_dir = str(job['tmp'] / work)
    cfg.default_hooks.pop('visualization', None)
    cfg.experiment_name = f'{work}_{len(os.listdir(job["tmp"]))}'
    return Runner.from_cfg(cfg)


def _files(out) -> dict:
    return {
        osp.basename(p): open(p, 'rb').read()
        for p in sorted(glob.glob(osp.join(out, '*.png')))
    }


def _manifest(out) -> dict:
    with open(osp.join(out, 'manifest.json')) as f:
        return json.load(f)


def test_another_cam_folder_is_refused_then_overwritten(job):
    """Rerunning into a folder with only the CAM folder changed used to
    return the old labels silently and record the new run's hashes."""
    out = str(job['tmp'] / 'ir_stale')
    ir_runner(job, out).test()
    first = _files(out)
    assert len(first) == 8
    other = str(job['tmp'] / 'cams_other')
    with pytest.raises(StaleOutputError) as error:
        ir_runner(job, out, cams=other, work='work2').test()
    message = str(error.value)
    assert out in message and '8 files of another run' in message
    assert f'input folder {other}' in message and 'cams_other' in message
    assert '--overwrite' in message
    # nothing was touched, the manifest still names the first run
    assert _files(out) == first
    assert _manifest(out)['status'] == 'finished'
    ir_runner(job, out, cams=other, work='work3', overwrite=True).test()
    fresh = str(job['tmp'] / 'ir_fresh_other')
    ir_runner(job, fresh, cams=other, work='work4').test()
    assert _files(out) == _files(fresh) != first
    assert _manifest(out)['fingerprint'] == _manifest(fresh)['fingerprint']


def test_regenerated_inputs_in_the_same_folder_are_refused(job):
    out = str(job['tmp'] / 'ir_regen')
    cams = str(job['tmp'] / 'cams_regen')
    write_cams(job['data'], cams)
    ir_runner(job, out, cams=cams).test()
    write_cams(job['data'], cams, scale=0.5)  # same folder, new CAMs
    with pytest.raises(StaleOutputError, match=f'input folder {cams}: files:'):
        ir_runner(job, out, cams=cams, work='work2').test()


def test_files_without_a_fingerprint_are_refused(job):
    out = str(job['tmp'] / 'ir_by_hand')
    os.makedirs(out)
    open(osp.join(out, job['ids'][0] + '.png'), 'wb').write(b'x')
    with pytest.raises(StaleOutputError, match='without a recorded'):
        ir_runner(job, out).test()


def test_same_command_resumes_to_identical_files(job):
    out = str(job['tmp'] / 'ir_resume')
    ir_runner(job, out).test()
    first = _files(out)
    # a killed job: two labels missing, one damaged by an outside copy
    for name in job['ids'][:2]:
        os.remove(osp.join(out, name + '.png'))
    damaged = osp.join(out, job['ids'][2] + '.png')
    open(damaged, 'wb').write(first[job['ids'][2] + '.png'][:40])
    # the work_dir of the rerun differs: not part of the fingerprint
    ir_runner(job, out, work='work_again').test()
    assert _files(out) == first
    manifest = _manifest(out)
    assert manifest['written_this_run'] == 3
    assert manifest['skipped_existing'] == 5
    assert manifest['damaged_rewritten'] == [job['ids'][2] + '.png']
    assert manifest['status'] == 'finished' and manifest['failures'] == []


def test_output_that_does_not_load_is_rewritten(job):
    """A file that passes the cheap check but does not decode is not
    trusted (nor a failure forever): it is predicted and written again."""
    out = str(job['tmp'] / 'ir_undecodable')
    ir_runner(job, out).test()
    first = _files(out)
    name = job['ids'][3] + '.png'
    good = first[name]
    # PNG signature and IEND kept, the image data scrambled
    open(osp.join(out, name), 'wb').write(good[:8] + b'\0' * (len(good) - 20)
                                           + good[-12:])
    ir_runner(job, out, work='work2').test()
    assert _files(out) == first
    assert _manifest(out)['damaged_rewritten'] == [name]


def _break_one_cam(job, name) -> str:
    cams = str(job['tmp'] / f'cams_bad_{name}')
    write_cams(job['data'], cams)
    with open(osp.join(cams, name + '.npz'), 'wb') as f:
        f.write(b'not an npz')
    return cams


def test_one_bad_cam_file_fails_only_its_image(job):
    bad = job['ids'][5]
    cams = _break_one_cam(job, bad)
    out = str(job['tmp'] / 'ir_one_bad')
    with pytest.raises(ItemsFailedError) as error:
        ir_runner(job, out, cams=cams).test()
    message = str(error.value)
    manifest_path = osp.join(out, 'manifest.json')
    assert '1 items failed, 7 succeeded' in message
    assert bad in message and manifest_path in message
    assert f'Cannot read CAM file {osp.join(cams, bad)}.npz' in message
    # the 7 good images of the batch of 8 are written, the bad one is not
    assert sorted(_files(out)) == sorted(
        n + '.png' for n in job['ids'] if n != bad)
    manifest = _manifest(out)
    assert manifest['status'] == 'incomplete'
    assert [f['item'] for f in manifest['failures']] == [bad]
    assert manifest['written_this_run'] == 7
    # accepted failures: a warning, the metrics, no error
    metrics = ir_runner(
        job, out, cams=cams, work='work2', allow_failures=True).test()
    assert metrics['ir_label_writer/written'] == 0
    assert _manifest(out)['failures'][0]['item'] == bad


def test_stop_on_error_still_writes_the_manifest(job):
    bad = job['ids'][0]
    cams = _break_one_cam(job, bad)
    out = str(job['tmp'] / 'ir_stop')
    with pytest.raises(RuntimeError, match=f'Item {bad} of batch 0 failed'):
        ir_runner(job, out, cams=cams, stop_on_error=True).test()
    manifest = _manifest(out)
    assert manifest['status'] == 'stopped'
    assert [f['item'] for f in manifest['failures']] == [bad]


TOOL_CONFIG = """
_base_ = ['{config}']
model = dict(crf=False, crf_cfg=None, num_workers=0)
test_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root='{data}', pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(type='mmwsss.LoadCAMFile', cam_dir='{cams}',
             arrays=('keys', 'high_res')),
        dict(type='mmwsss.LoadLabelMap', num_classes=3),
        dict(type='mmwsss.PackCAMInputs')]))
test_evaluator = [dict(type='mmwsss.IRLabelWriter', output_dir='{out}')]
"""


@pytest.mark.slow
def test_tools_test_exit_codes_and_flags(job):
    """tools/test.py: failed items exit 1 with a summary (0 with
    --allow-failures); a stale folder exits 1 (rewritten with
    --overwrite)."""
    bad = job['ids'][1]
    cams = _break_one_cam(job, bad)
    out = str(job['tmp'] / 'ir_tool')
    config = str(job['tmp'] / 'ir_tool.py')
    with open(config, 'w') as f:
        f.write(TOOL_CONFIG.format(
            config=_ir_config(), data=job['data'], cams=cams, out=out))

    def test_py(*extra, cams_dir=cams):
        proc = run_tool([
            'tools/test.py', config, job['ckpt'], '--work-dir',
            str(job['tmp'] / 'ir_tool_work'), *extra, '--cfg-options',
            f'test_dataloader.dataset.pipeline.1.cam_dir={cams_dir}'
        ], timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    code, output = test_py()
    assert code == 1
    assert 'ItemsFailedError: 1 items failed, 7 succeeded' in output
    assert f'Failed: {bad}.' in output
    assert osp.join(out, 'manifest.json') in output
    code, output = test_py('--allow-failures')
    assert code == 0 and '1 items failed, 7 succeeded' in output
    other = str(job['tmp'] / 'cams_other')
    code, output = test_py(cams_dir=other)
    assert code == 1 and 'StaleOutputError' in output
    assert len(_files(out)) == 7
    code, output = test_py('--overwrite', cams_dir=other)
    assert code == 0, output[-3000:]
    assert len(_files(out)) == 8
    assert 'Deleting the 7 outputs of another run' in output
