# Copyright (c) mmwsss contributors. All rights reserved.
"""Checkpoints of every mmengine scheme load weights-only
(mmwsss.utils.checkpoint): served by a local HTTP server on 127.0.0.1."""
import functools
import http.server
import sys
import threading
import types
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader, load_checkpoint
from mmengine.runner import checkpoint as mmengine_checkpoint

from mmwsss.registry import MODELS
from mmwsss.testing import (free_port, make_tiny_cls_dataset, run_tool,
                            write_tiny_mmpretrain_config)
from mmwsss.utils import checkpoint as mmwsss_checkpoint
from mmwsss.utils.checkpoint import WEIGHTS_ONLY_LOADERS


class _WritesMarker:
    """Pickles into ``open(marker, 'w')``: loading it creates the file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A folder served over HTTP on 127.0.0.1 holding ``good.pth`` (weights
    of a ``Linear(2, 1)``) and ``evil.pth`` (a payload that writes
    ``marker``); downloads go to a fresh torch hub folder."""
    folder = tmp_path / 'www'
    folder.mkdir()
    torch.manual_seed(0)
    weights = torch.nn.Linear(2, 1).state_dict()
    torch.save(dict(state_dict=weights), folder / 'good.pth')
    marker = tmp_path / 'pwned'
    torch.save(
        dict(state_dict=weights, meta=_WritesMarker(str(marker))),
        folder / 'evil.pth')
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', free_port()),
        functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f'http://127.0.0.1:{server.server_address[1]}'
    yield types.SimpleNamespace(
        url=url, folder=folder, marker=marker, weights=weights, tmp=tmp_path)
    server.shutdown()
    server.server_close()


def _assert_loads(filename: str, weights: dict) -> None:
    model = torch.nn.Linear(2, 1)
    load_checkpoint(model, filename, strict=True)
    for name, value in model.state_dict().items():
        assert torch.equal(value, weights[name]), name


def _assert_refused(filename: str, marker) -> None:
    with pytest.raises(RuntimeError, match='Refused to load checkpoint') as e:
        load_checkpoint(torch.nn.Linear(2, 1), filename)
    assert 'io.open' in str(e.value)
    assert not marker.exists()


def test_every_registered_scheme_loads_weights_only():
    assert CheckpointLoader._schemes
    for prefix, loader in CheckpointLoader._schemes.items():
        assert loader is WEIGHTS_ONLY_LOADERS[prefix], prefix


@pytest.mark.parametrize('force_no_weights_only', [False, True])
def test_http(served, monkeypatch, force_no_weights_only):
    if force_no_weights_only:
        monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    _assert_loads(f'{served.url}/good.pth', served.weights)
    cache = served.tmp / 'hub' / 'checkpoints'
    assert (cache / 'good.pth').is_file()
    _assert_refused(f'{served.url}/evil.pth', served.marker)
    # Not left in torch's cache for torch.hub to unpickle.
    assert not (cache / 'evil.pth').exists()


@pytest.mark.parametrize('prefix,table', [
    ('torchvision://', 'get_torchvision_models'),
    ('modelzoo://', 'get_torchvision_models'),
    ('open-mmlab://', 'get_external_models'),
    ('openmmlab://', 'get_external_models'),
])
def test_model_zoo_names_resolving_to_urls(served, monkeypatch, prefix,
                                           table):
    urls = dict(good=f'{served.url}/good.pth', evil=f'{served.url}/evil.pth')
    monkeypatch.setattr(mmengine_checkpoint, table, lambda: urls)
    _assert_loads(f'{prefix}good', served.weights)
    _assert_refused(f'{prefix}evil', served.marker)


def test_open_mmlab_name_of_a_file_in_mmengine_home(served, monkeypatch):
    monkeypatch.setattr(mmengine_checkpoint, 'get_external_models',
                        lambda: dict(good='good.pth', evil='evil.pth'))
    monkeypatch.setattr(mmengine_checkpoint, '_get_mmengine_home',
                        lambda: str(served.folder))
    _assert_loads('open-mmlab://good', served.weights)
    _assert_refused('openmmlab://evil', served.marker)


def test_mmcls_keeps_the_backbone(served, monkeypatch):
    backbone = OrderedDict(
        (f'backbone.{k}', v) for k, v in served.weights.items())
    torch.save(dict(state_dict=backbone), served.folder / 'cls.pth')
    monkeypatch.setattr(
        mmengine_checkpoint, 'get_mmcls_models', lambda: dict(
            good=f'{served.url}/cls.pth', evil=f'{served.url}/evil.pth'))
    _assert_loads('mmcls://good', served.weights)
    _assert_refused('mmcls://evil', served.marker)


def test_pavi(served, monkeypatch):

    class Model:

        def __init__(self, name):
            self.name = name

        def download(self, path):
            with open(served.folder / self.name, 'rb') as src, open(
                    path, 'wb') as dst:
                dst.write(src.read())

    modelcloud = types.SimpleNamespace(get=Model)
    monkeypatch.setitem(sys.modules, 'pavi',
                        types.SimpleNamespace(modelcloud=modelcloud))
    _assert_loads('pavi://good.pth', served.weights)
    _assert_refused('pavi://evil.pth', served.marker)


@pytest.mark.parametrize('prefix', ['s3://', 'petrel://', 'open-mmlab:s3://'])
def test_petrel_backends(served, monkeypatch, prefix):

    class Backend:

        def get(self, filename):
            return (served.folder / filename.split('://')[1]).read_bytes()

    monkeypatch.setattr(mmwsss_checkpoint, 'get_file_backend',
                        lambda *args, **kwargs: Backend())
    _assert_loads(f'{prefix}good.pth', served.weights)
    _assert_refused(f'{prefix}evil.pth', served.marker)


def test_a_foreign_loader_is_refused(served, monkeypatch):

    def load_from_anywhere(filename, map_location=None):
        return torch.load(
            served.folder / 'evil.pth', weights_only=False)  # noqa

    monkeypatch.setattr(CheckpointLoader, '_schemes',
                        OrderedDict(CheckpointLoader._schemes))
    CheckpointLoader.register_scheme('anywhere://', load_from_anywhere)
    with pytest.raises(RuntimeError, match='load_from_anywhere'):
        load_checkpoint(torch.nn.Linear(2, 1), 'anywhere://evil.pth')
    assert not served.marker.exists()


def test_init_cfg_pretrained_from_url(served):
    # A partial load by prefix, as the IRNet configs take their backbone.
    classifier = OrderedDict(
        (f'head.fc.{k}', v) for k, v in served.weights.items())
    classifier['backbone.conv.weight'] = torch.zeros(1)
    torch.save(dict(state_dict=classifier), served.folder / 'classifier.pth')
    model = MODELS.build(
        dict(
            type='mmpretrain.LinearClsHead',
            num_classes=1,
            in_channels=2,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=f'{served.url}/classifier.pth',
                prefix='head.')))
    model.init_weights()
    assert torch.equal(model.fc.weight, served.weights['weight'])

    model = MODELS.build(
        dict(
            type='mmpretrain.LinearClsHead',
            num_classes=1,
            in_channels=2,
            init_cfg=dict(
                type='Pretrained', checkpoint=f'{served.url}/evil.pth')))
    with pytest.raises(RuntimeError, match='Refused to load checkpoint'):
        model.init_weights()
    assert not served.marker.exists()


@pytest.mark.slow
def test_tools_with_checkpoint_urls(served):
    """tools/test.py's checkpoint argument and tools/train.py's load_from
    as URLs: a plain checkpoint is tested, a payload never runs and the
    jobs fail."""
    data_root = make_tiny_cls_dataset(str(served.tmp / 'data'))
    config = write_tiny_mmpretrain_config(
        str(served.tmp / 'tiny.py'), data_root, max_iters=1)
    env = dict(TORCH_HOME=str(served.tmp / 'torch_home'))
    init_default_scope('mmpretrain')
    model = MODELS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict()), served.folder / 'cls.pth')
    test = run_tool([
        'tools/test.py', config, f'{served.url}/cls.pth', '--work-dir',
        str(served.tmp / 'test_cls')
    ],
                    env=env)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'accuracy/top1' in test.stdout + test.stderr

    evil = f'{served.url}/evil.pth'
    test = run_tool([
        'tools/test.py', config, evil, '--work-dir',
        str(served.tmp / 'test')
    ],
                    env=env)
    assert test.returncode != 0
    assert f'Refused to load checkpoint "{evil}' in test.stderr
    train = run_tool([
        'tools/train.py', config, '--work-dir',
        str(served.tmp / 'train'), '--cfg-options', f'load_from={evil}'
    ],
                     env=env)
    assert train.returncode != 0
    assert f'Refused to load checkpoint "{evil}' in train.stderr
    assert not served.marker.exists()
