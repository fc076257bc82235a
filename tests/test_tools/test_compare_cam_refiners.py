# Copyright (c) mmwsss contributors. All rights reserved.
"""Argument, command and table logic of tools/analysis/compare_cam_refiners.py
(no job is run here)."""
import importlib.util
import os
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def tool():
    path = osp.join(ROOT, 'tools', 'analysis', 'compare_cam_refiners.py')
    spec = importlib.util.spec_from_file_location('compare_cam_refiners',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_job_commands_share_the_image_list(tool):
    args = tool.parse_args([
        'data/sv', 'cam.pth', 'fickle.pth', '--work-dir', 'wd',
        '--num-images', '7', '--advcam-iters', '5', '--python', 'py'
    ])
    cmds = {m: tool.job_command(args, m) for m in tool.METHODS}
    for method, cmd in cmds.items():
        assert cmd[:2] == ['py', 'tools/test.py']
        assert cmd[2] == tool.METHODS[method][0]
        assert 'test_dataloader.dataset.indices=7' in cmd
        assert 'test_dataloader.dataset.data_root=data/sv' in cmd
        assert f'test_evaluator.0.output_dir=wd/cams/{method}' in cmd
        assert cmd[cmd.index('--work-dir') + 1] == f'wd/runs/{method}'
        assert cmd[3] == ('fickle.pth' if method == 'ficklenet' else
                          'cam.pth')
    assert 'model.adv_iter=5' in cmds['advcam']
    assert 'model.rib_data.dataset.data_root=data/sv' in cmds['rib']
    assert 'model.num_draws=32' in cmds['ficklenet']
    assert not any('adv_iter' in o for o in cmds['cam'])
    # all images: no indices option
    args = tool.parse_args(['d', 'c.pth', 'f.pth'])
    assert not any('indices' in o for o in tool.job_command(args, 'cam'))
    with pytest.raises(SystemExit):
        tool.parse_args(['d', 'c.pth', 'f.pth', '--num-images', '0'])
    with pytest.raises(SystemExit):
        tool.parse_args(['d', 'c.pth', 'f.pth', '--methods', 'psa'])


def test_resume_and_timing(tool, tmp_path):
    (tmp_path / 'a.npz').write_bytes(b'')
    assert tool.missing_ids(str(tmp_path), ['a', 'b', 'c']) == ['b', 'c']
    timings = {}
    assert tool.seconds_per_image(timings, 'rib') is None
    tool.add_timing(timings, 'rib', 40.0, 3, 20.0)
    tool.add_timing(timings, 'rib', 15.0, 2, 10.0)  # a resumed run
    tool.add_timing(timings, 'rib', 12.0, 1, 0.0)  # one file: no interval
    tool.add_timing(timings, 'cam', 5.0, 1, 0.0)
    assert timings['rib'] == dict(wall_seconds=67.0, images=6, span=30.0,
                                  intervals=3)
    assert tool.seconds_per_image(timings, 'rib') == pytest.approx(10.0)
    assert tool.seconds_per_image(timings, 'cam') is None
    for name, mtime in (('a', 100.0), ('b', 103.5)):
        (tmp_path / f'{name}.npz').touch()
        os.utime(tmp_path / f'{name}.npz', (mtime, mtime))
    assert tool.written_span(str(tmp_path), ['a', 'b']) == pytest.approx(3.5)
    assert tool.written_span(str(tmp_path), []) == 0.0


def test_format_table(tool):
    table = tool.format_table([
        dict(method='cam', miou=50.384, threshold=0.05, precision=74.26,
             recall=60.32, sec_per_image=0.4012, num_images=300),
        dict(method='rib', miou=35.0, threshold=0.25, precision=75.8,
             recall=40.3, sec_per_image=None, num_images=300),
    ]).splitlines()
    assert table[0] == ('| method | seed mIoU | best thr | precision | '
                        'recall | s / image | images |')
    assert table[1] == '|---|---|---|---|---|---|---|'
    assert table[2] == '| cam | 50.38 | 0.05 | 74.26 | 60.32 | 0.40 | 300 |'
    assert table[3] == '| rib | 35.00 | 0.25 | 75.80 | 40.30 | - | 300 |'
