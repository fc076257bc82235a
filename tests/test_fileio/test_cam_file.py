# Copyright (c) mmwsss contributors. All rights reserved.
"""The CAM file format: written, read (all or some arrays), validated with
errors that name the file."""
import numpy as np
import pytest

from mmwsss.fileio import (cam_path, load_cam_file, read_cam_file,
                           read_finest_cams, save_npz, strided_map_size,
                           write_cam_file)


def _cams(k=2, size=(9, 14)):
    rng = np.random.default_rng(0)
    high_res = rng.random((k, ) + size, dtype=np.float32)
    strided = high_res[:, ::4, ::4]
    assert strided.shape[1:] == strided_map_size(size)
    return dict(
        keys=np.arange(k) * 2,
        strided=strided,
        high_res=high_res,
        scores=rng.random(5, dtype=np.float32))


def test_round_trip_with_the_format_dtypes(tmp_path):
    cams = _cams()
    path = str(tmp_path / 'a.npz')
    write_cam_file(
        path,
        keys=cams['keys'].astype(np.int32),
        strided=cams['strided'].astype(np.float64),
        high_res=cams['high_res'],
        scores=cams['scores'])
    arrays = read_cam_file(path)
    assert list(arrays) == ['keys', 'strided', 'high_res', 'scores']
    assert arrays['keys'].dtype == np.int64
    assert arrays['strided'].dtype == arrays['high_res'].dtype == np.float32
    for name, value in cams.items():
        np.testing.assert_array_equal(arrays[name], value)
    # the same arrays give the same bytes
    again = str(tmp_path / 'b.npz')
    write_cam_file(again, **cams)
    assert open(path, 'rb').read() == open(again, 'rb').read()


def test_reads_only_the_requested_arrays(tmp_path):
    path = str(tmp_path / 'a.npz')
    write_cam_file(path, **_cams())
    arrays = read_cam_file(path, ('keys', 'strided'), image_size=(9, 14))
    assert sorted(arrays) == ['keys', 'strided']
    without_high_res = str(tmp_path / 'b.npz')
    cams = _cams()
    write_cam_file(without_high_res, cams['keys'], cams['strided'])
    with pytest.raises(KeyError, match=r"b\.npz has no \['high_res'\]"):
        read_cam_file(without_high_res, ('keys', 'high_res'))
    with pytest.raises(ValueError, match='Unknown CAM arrays'):
        read_cam_file(path, ('keys', 'edges'))


def test_finest_maps(tmp_path):
    cams = _cams()
    path = str(tmp_path / 'a.npz')
    write_cam_file(path, **cams)
    keys, maps = read_finest_cams(path)
    np.testing.assert_array_equal(maps, cams['high_res'])
    write_cam_file(path, cams['keys'], cams['strided'])
    keys, maps = read_finest_cams(path)
    np.testing.assert_array_equal(keys, cams['keys'])
    np.testing.assert_array_equal(maps, cams['strided'])


def test_errors_name_the_file(tmp_path):
    missing = str(tmp_path / 'missing.npz')
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        read_cam_file(missing)
    broken = tmp_path / 'broken.npz'
    broken.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='broken.npz'):
        read_cam_file(str(broken))
    cams = _cams()
    bad = str(tmp_path / 'bad.npz')
    for arrays, message in (
        (dict(keys=cams['keys'][:1], strided=cams['strided']), '2 maps'),
        (dict(keys=cams['keys'][None], strided=cams['strided']), '1-D'),
        (dict(keys=cams['keys'], strided=cams['strided'][0]), r'\(K, h, w\)'),
    ):
        save_npz(bad, arrays)
        with pytest.raises(ValueError, match=r'bad\.npz.*' + message):
            read_cam_file(bad)
    good = str(tmp_path / 'good.npz')
    write_cam_file(good, **cams)
    with pytest.raises(ValueError, match=r'good\.npz: high_res maps'):
        read_cam_file(good, ('keys', 'high_res'), image_size=(9, 15))
    with pytest.raises(ValueError, match=r'good\.npz: strided maps'):
        read_cam_file(good, ('keys', 'strided'), image_size=(13, 14))
    with pytest.raises(ValueError, match=r'x\.npz: strided has 2 maps'):
        write_cam_file(str(tmp_path / 'x.npz'), [0], cams['strided'])


def test_files_are_named_by_the_sample_stem(tmp_path):
    assert cam_path('d', dict(img_id='a', img_path='x/b.jpg')) == 'd/a.npz'
    assert cam_path('d', dict(img_path='x/b.jpg')) == 'd/b.npz'
    write_cam_file(str(tmp_path / 'b.npz'), **_cams())
    arrays = load_cam_file(
        str(tmp_path), dict(img_path='JPEGImages/b.jpg'), ('keys', ))
    assert list(arrays) == ['keys']


# NaN / Inf, negative values and bad keys: tests/test_bad_inputs.py.


def test_load_cam_file_transform_checks_the_classes(tmp_path):
    from mmwsss.datasets.transforms import LoadCAMFile
    cams = _cams()
    write_cam_file(str(tmp_path / 'a.npz'), **cams)
    results = dict(img_id='a', ori_shape=(9, 14))
    loaded = LoadCAMFile(str(tmp_path), ('keys', 'strided'),
                         num_classes=3)(dict(results))
    np.testing.assert_array_equal(loaded['cam_keys'], [0, 2])
    with pytest.raises(ValueError, match='beyond the 2'):
        LoadCAMFile(str(tmp_path), ('keys', ), num_classes=2)(dict(results))
    with pytest.raises(ValueError, match='positive'):
        LoadCAMFile(str(tmp_path), ('keys', ), num_classes=0)
