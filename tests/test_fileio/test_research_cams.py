# Copyright (c) mmwsss contributors. All rights reserved.
"""The research codes' CAM files: made here as those codes make them, read
safely, and round-tripped through our CAM files."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmwsss.datasets.converters import export_cams, import_cams
from mmwsss.fileio import (load_pickled_npy, read_cam_file,
                           read_research_cams, strided_map_size,
                           write_cam_file)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = (13, 18)


def _our_cams(seed=0, keys=(3, 11)):
    rng = np.random.default_rng(seed)
    high_res = rng.random((len(keys), ) + SIZE, dtype=np.float32)
    strided = rng.random(
        (len(keys), ) + strided_map_size(SIZE), dtype=np.float32)
    return dict(keys=np.array(keys), strided=strided, high_res=high_res)


def _irn_file(path, cams):
    """As IRN's make_cam.py saves: keys and cam are torch tensors."""
    label = torch.zeros(20)
    label[torch.from_numpy(cams['keys'])] = 1
    np.save(
        path, {
            'keys': torch.nonzero(label)[:, 0],
            'cam': torch.from_numpy(cams['strided']),
            'high_res': cams['high_res']
        })


def test_irn_files_need_trust_and_read_exactly(tmp_path):
    cams = _our_cams()
    path = str(tmp_path / '2007_000032.npy')
    _irn_file(path, cams)
    with pytest.raises(ValueError, match='pickle.*--trust-pickles'):
        read_research_cams(path, 'irn')
    arrays = read_research_cams(path, 'irn', trust_pickles=True)
    for name, value in cams.items():
        np.testing.assert_array_equal(arrays[name], value)


class _Payload:
    """What a malicious CAM file would hold."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_pickles_run_no_code_even_when_trusted(tmp_path):
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.npy')
    content = np.empty((), dtype=object)
    content[()] = {'keys': _Payload(marker)}
    with open(path, 'wb') as f:
        np.lib.format.write_array(f, content, allow_pickle=True)
    with pytest.raises(pickle.UnpicklingError,
                       match='evil.npy: refusing to unpickle .*open'):
        load_pickled_npy(path, trust_pickles=True)
    assert not osp.exists(marker)


@pytest.mark.parametrize('fmt', ['irn', 'psa', 'clip-es', 'wsolevaluation'])
def test_round_trip_through_each_format(tmp_path, fmt):
    ours, theirs, back = (str(tmp_path / d) for d in ('ours', 'x', 'back'))
    keys = (7, ) if fmt == 'wsolevaluation' else (3, 11)
    cams = _our_cams(keys=keys)
    write_cam_file(osp.join(ours, 'img1.npz'), **cams)
    counts, failures = export_cams(ours, theirs, fmt, progress=False)
    assert counts['written'] == 1 and not failures
    metadata = None
    if fmt == 'wsolevaluation':
        assert os.listdir(theirs) == ['img1.jpg.npy']
        metadata = str(tmp_path / 'meta')
        os.makedirs(metadata)
        with open(osp.join(metadata, 'class_labels.txt'), 'w') as f:
            f.write('val/img1.jpg,7\n')
    counts, failures = import_cams(
        theirs, back, fmt, trust_pickles=True, metadata_dir=metadata,
        progress=False)
    assert counts['written'] == 1 and not failures
    arrays = read_cam_file(osp.join(back, 'img1.npz'))
    np.testing.assert_array_equal(arrays['keys'], keys)
    tolerance = 1e-3 if fmt == 'clip-es' else 0  # float16 maps
    np.testing.assert_allclose(
        arrays['high_res'], cams['high_res'], atol=tolerance, rtol=0)
    expected_strided = (
        cams['strided'] if fmt == 'irn' else arrays['high_res'][:, ::4, ::4])
    np.testing.assert_array_equal(arrays['strided'], expected_strided)
    # rerun: nothing to do
    assert import_cams(theirs, back, fmt, trust_pickles=True,
                       metadata_dir=metadata,
                       progress=False)[0]['unchanged'] == 1


def test_irn_import_gives_our_files_byte_for_byte(tmp_path):
    """Scores of imported CAMs equal ours: the files are identical."""
    ours, theirs, back = (str(tmp_path / d) for d in ('ours', 'x', 'back'))
    for i in range(3):
        write_cam_file(osp.join(ours, f'im{i}.npz'), **_our_cams(seed=i))
    export_cams(ours, theirs, 'irn', progress=False)
    import_cams(theirs, back, 'irn', trust_pickles=True, progress=False)
    for i in range(3):
        with open(osp.join(ours, f'im{i}.npz'), 'rb') as a, open(
                osp.join(back, f'im{i}.npz'), 'rb') as b:
            assert a.read() == b.read()


def test_bad_files_are_recorded_and_the_others_converted(tmp_path):
    src, dst = str(tmp_path / 'src'), str(tmp_path / 'dst')
    os.makedirs(src)
    _irn_file(osp.join(src, 'good.npy'), _our_cams())
    np.save(osp.join(src, 'bad.npy'), {'keys': np.array([1])})
    negative = _our_cams()
    negative['high_res'] -= 2
    _irn_file(osp.join(src, 'negative.npy'), negative)
    counts, failures = import_cams(
        src, dst, 'irn', trust_pickles=True, progress=False)
    assert counts['written'] == 1
    assert len(failures) == 2
    assert any('bad.npy is not a irn CAM file' in f for f in failures)
    assert any('negative values' in f for f in failures)
    assert os.listdir(dst) == ['good.npz']


def test_command_line_refuses_pickles_without_trust(tmp_path):
    src = str(tmp_path / 'src')
    os.makedirs(src)
    _irn_file(osp.join(src, 'a.npy'), _our_cams())
    tool = osp.join(ROOT, 'tools', 'dataset_converters', 'import_cams.py')
    env = dict(os.environ, PYTHONPATH=ROOT)
    run = subprocess.run(
        [sys.executable, tool, '--format', 'irn', src,
         str(tmp_path / 'dst')],
        capture_output=True, text=True, env=env)
    assert run.returncode != 0 and '--trust-pickles' in run.stderr
    run = subprocess.run(
        [sys.executable, tool, '--format', 'irn', '--trust-pickles', src,
         str(tmp_path / 'dst')],
        capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert '1 files: 1 written' in run.stdout
