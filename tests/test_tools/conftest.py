# Copyright (c) mmwsss contributors. All rights reserved.
"""Running the repository's tools as a user would, for the pipeline tests."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from typing import Dict, Sequence, Tuple

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmwsss.registry import MODELS
from mmwsss.fileio import read_cam_file, read_label_map, write_cam_file
from mmwsss.testing import free_port


class ToolRunner:
    """Runs ``tools/*.py`` of ``repo`` in subprocesses (one OpenMP thread
    each, so that parallel processes do not oversubscribe the cores)."""

    def __init__(self, repo: str):
        self.repo = repo

    def env(self) -> dict:
        env = dict(os.environ)
        env['PYTHONPATH'] = self.repo + os.pathsep + env.get('PYTHONPATH', '')
        env['OMP_NUM_THREADS'] = '1'
        return env

    def run(self, args: Sequence[str], **kwargs) -> str:
        """Run ``python *args`` to completion; its output (must succeed)."""
        proc = subprocess.run([sys.executable, *args],
                              cwd=self.repo,
                              env=self.env(),
                              capture_output=True,
                              text=True,
                              timeout=600,
                              **kwargs)
        assert proc.returncode == 0, (
            proc.stdout[-3000:] + proc.stderr[-3000:])
        return proc.stdout + proc.stderr

    @staticmethod
    def test_cmd(cfg: str, ckpt: str, out_dir: str, work_dir: str,
                 extra: Sequence[str] = ()) -> list:
        """``tools/test.py`` with the first evaluator writing to
        ``out_dir``."""
        return [
            'tools/test.py', cfg, ckpt, '--work-dir', work_dir,
            '--cfg-options', f'test_evaluator.0.output_dir={out_dir}', *extra
        ]

    @staticmethod
    def distributed(cmd: Sequence[str], nproc: int, port: int) -> list:
        """``cmd`` (a tool and its arguments) under torch.distributed.run."""
        return [
            '-m', 'torch.distributed.run', '--nproc_per_node',
            str(nproc), '--master_port',
            str(port), *cmd, '--launcher', 'pytorch'
        ]

    def two_process_test(self, config: str, ckpt: str, tmp,
                         name: str) -> Tuple[str, str]:
        """``tools/test.py`` on two processes (gloo), its first evaluator
        writing to ``<tmp>/<name>``: that folder and the log."""
        out = osp.join(str(tmp), name)
        log = self.run(
            self.distributed(
                self.test_cmd(config, ckpt, out, out + '_run'), 2,
                free_port()))
        return out, log

    def kill_after_first(self, cmd: Sequence[str], out_dir: str,
                         pattern: str = '*.npz') -> int:
        """Start ``python *cmd``, SIGKILL it once ``out_dir`` holds a file
        matching ``pattern``; the number of such files left behind."""
        proc = subprocess.Popen([sys.executable, *cmd],
                                cwd=self.repo,
                                env=self.env(),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if glob.glob(osp.join(out_dir, pattern)):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait()
        return len(glob.glob(osp.join(out_dir, pattern)))

    def untrained_cam_run(self, config: str, tmp) -> dict:
        """Write ``config`` (text) into ``tmp``, save a checkpoint of its
        model with random weights (standing in for a trained classifier)
        and write its CAMs with ``tools/test.py``.

        Returns:
            dict: ``cfg`` and ``ckpt`` paths, ``tmp``, the ``cams`` folder
            and the run's ``log``.
        """
        cfg = str(tmp / 'config.py')
        with open(cfg, 'w') as f:
            f.write(config)
        init_default_scope('mmpretrain')
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(cfg).model)
        model.init_weights()
        ckpt = str(tmp / 'classifier.pth')
        torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
        cams = str(tmp / 'cams_1proc')
        log = self.run(self.test_cmd(cfg, ckpt, cams, str(tmp / 'test1')))
        return dict(cfg=cfg, ckpt=ckpt, tmp=tmp, cams=cams, log=log)

    @staticmethod
    def metric(log: str, key: str) -> float:
        """The value of metric ``key`` printed in a tool's ``log``."""
        return float(log.split(key + ': ')[1].split()[0])

    @staticmethod
    def write_gt_cams(root: str, out: str) -> list:
        """CAM files of the train split of the SynthVOC ``root`` made from
        its ground truth (each class's mask, max 1 - 1e-5, and its stride-4
        bilinear reduction); the image ids."""
        with open(osp.join(root, 'ImageSets/Segmentation/train.txt')) as f:
            ids = f.read().split()
        for img_id in ids:
            gt = read_label_map(
                osp.join(root, 'SegmentationClass', img_id + '.png'), 20)
            keys = np.array([v - 1 for v in np.unique(gt) if 0 < v < 255])
            high_res = np.stack([(gt == k + 1) for k in keys
                                 ]).astype(np.float32)
            strided = F.interpolate(
                torch.from_numpy(high_res)[None],
                size=((gt.shape[0] - 1) // 4 + 1, (gt.shape[1] - 1) // 4 + 1),
                mode='bilinear',
                align_corners=False)[0].numpy()
            write_cam_file(
                osp.join(out, img_id + '.npz'), keys, strided,
                high_res / (1 + 1e-5))
        return ids

    @staticmethod
    def cams(folder: str) -> Dict[str, dict]:
        """The arrays of every ``.npz`` file of ``folder``, by file name."""
        files = sorted(glob.glob(osp.join(folder, '*.npz')))
        return {osp.basename(f): read_cam_file(f) for f in files}

    def assert_same_cams(self, folder: str, other: str,
                         atol: float = 1e-5) -> None:
        """Both folders hold the same CAM files, their arrays equal up to
        ``atol``."""
        one, two = self.cams(folder), self.cams(other)
        assert one.keys() == two.keys()
        for name in one:
            for key in one[name]:
                np.testing.assert_allclose(
                    one[name][key],
                    two[name][key],
                    rtol=0,
                    atol=atol,
                    err_msg=name)

    def assert_identical_files(self,
                               folder: str,
                               other: str,
                               pattern: str = '*.npz') -> None:
        """Every ``pattern`` file of ``folder`` (at least one) is in
        ``other``, byte for byte."""
        paths = sorted(glob.glob(osp.join(folder, pattern)))
        assert paths, folder
        for path in paths:
            name = osp.basename(path)
            with open(osp.join(folder, name), 'rb') as a, open(
                    osp.join(other, name), 'rb') as b:
                assert a.read() == b.read(), name

    @staticmethod
    def assert_same_label_maps(folder: str, other: str,
                               names: Sequence[str]) -> None:
        """The 3-class label maps ``<name>.png`` of both folders are
        equal."""
        for name in sorted(names):
            one = read_label_map(osp.join(folder, name + '.png'), 3)
            two = read_label_map(osp.join(other, name + '.png'), 3)
            np.testing.assert_array_equal(two, one, err_msg=name)

    @staticmethod
    def write_configs(folder, templates: Dict[str, str],
                      **fields) -> Dict[str, str]:
        """Write each config template, formatted with ``fields``, to
        ``<folder>/<name>.py``; the paths by name."""
        paths = {}
        for name, text in templates.items():
            paths[name] = osp.join(str(folder), f'{name}.py')
            with open(paths[name], 'w') as f:
                f.write(text.format(**fields))
        return paths

    def weight_free_labels(self, config: str, tmp, name: str) -> dict:
        """``tools/test.py`` of a label generator without weights (IR
        labels, PSA's la/ha labels) with an empty checkpoint, run twice (the
        second resumes): ``cam_ckpt``, ``log`` and ``resumed_log``."""
        cam_ckpt = osp.join(str(tmp), 'cam.pth')
        torch.save(dict(state_dict={}), cam_ckpt)
        cmd = [
            'tools/test.py', config, cam_ckpt, '--work-dir',
            osp.join(str(tmp), name)
        ]
        return dict(
            cam_ckpt=cam_ckpt, log=self.run(cmd), resumed_log=self.run(cmd))

    def assert_labels_written_and_resumed(self, folder: str,
                                          ids: Sequence[str],
                                          labels: dict) -> None:
        """The label PNGs of :meth:`weight_free_labels` from CAMs equal to
        the 3-class masks: one per image, confident labels nearly all right,
        the checkpoint recorded, and the rerun skipped them all and scored
        the same."""
        files = sorted(glob.glob(osp.join(folder, '*.png')))
        assert [osp.basename(f)[:-4] for f in files] == sorted(ids)
        for f in files:
            assert set(np.unique(read_label_map(f, 3))) <= {0, 1, 2, 3, 255}
        precision = self.metric(labels['log'], 'ir_label/precision')
        assert precision > 90
        manifest = json.load(open(osp.join(folder, 'manifest.json')))
        assert manifest['checkpoint'] == labels['cam_ckpt']
        assert manifest['skipped_existing'] == len(files)
        assert self.metric(labels['resumed_log'],
                           'ir_label/precision') == precision

    def assert_rerun_rewrites_the_missing(self, cmd: Sequence[str],
                                          folder: str,
                                          names: Sequence[str]) -> None:
        """A finished writer's job killed mid-run: two outputs missing, a
        stray temporary file left. Rerunning ``cmd`` writes only those two
        again, byte-identical."""
        names = sorted(names)
        first = {
            n: open(osp.join(folder, n + '.png'), 'rb').read()
            for n in names
        }
        for name in names[:2]:
            os.remove(osp.join(folder, name + '.png'))
        with open(osp.join(folder, names[0] + '.png.x1.tmp'), 'wb') as f:
            f.write(b'partial')
        self.run(cmd)
        manifest = json.load(open(osp.join(folder, 'manifest.json')))
        assert manifest['written_this_run'] == 2
        assert manifest['skipped_existing'] == len(names) - 2
        for name in names:
            assert open(osp.join(folder, name + '.png'), 'rb').read() == \
                first[name], name


@pytest.fixture(scope='session')
def synthvoc(tmp_path_factory) -> str:
    """SynthVOC with the configs' 6 classes: 4 train, 2 val and 2 OoD
    images and a 20-image WSOL set."""
    from mmwsss.datasets.synthvoc import generate_synthetic_voc
    root = str(tmp_path_factory.mktemp('synthvoc6'))
    generate_synthetic_voc(
        root,
        seed=0,
        num_train=4,
        num_val=2,
        num_ood=2,
        wsol_images_per_class=2)
    return root


@pytest.fixture(scope='session')
def tools(repo_root) -> ToolRunner:
    """A :class:`ToolRunner` of this repository."""
    return ToolRunner(repo_root)
