# Copyright (c) mmwsss contributors. All rights reserved.
"""configs/*/metafile.yml follow mmpretrain's metafile format and
model-index.yml imports every one of them."""
import glob
import os.path as osp

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILES = sorted(
    osp.relpath(path, ROOT)
    for path in glob.glob(osp.join(ROOT, 'configs', '*', 'metafile.yml')))
READMES = sorted(
    osp.relpath(path, ROOT)
    for path in glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))


def _load(path: str) -> dict:
    with open(osp.join(ROOT, path)) as f:
        return yaml.safe_load(f)


def test_every_config_folder_with_a_readme_has_a_metafile():
    assert len(READMES) >= 11
    folders_with_metafile = {osp.dirname(path) for path in METAFILES}
    assert {osp.dirname(path) for path in READMES} <= folders_with_metafile


def test_model_index_imports_every_metafile():
    index = _load('model-index.yml')
    assert set(index) == {'Import'}
    assert sorted(index['Import']) == METAFILES


@pytest.mark.parametrize('path', METAFILES)
def test_metafile(path):
    meta = _load(path)
    assert set(meta) == {'Collections', 'Models'}
    folder = osp.dirname(path)
    collections = set()
    for collection in meta['Collections']:
        assert {'Name', 'Metadata', 'Paper', 'README'} <= set(collection)
        assert collection['README'] == osp.join(folder, 'README.md')
        collections.add(collection['Name'])
    assert meta['Models']
    for model in meta['Models']:
        assert set(model) <= {
            'Name', 'In Collection', 'Config', 'Metadata', 'Results', 'Weights'
        }, model['Name']
        assert model['In Collection'] in collections
        config = model['Config']
        assert osp.dirname(config) == folder
        assert osp.isfile(osp.join(ROOT, config)), config
        assert model['Name'] == osp.splitext(osp.basename(config))[0]
        # Only real checkpoints: no placeholder URLs or nulls.
        if 'Weights' in model:
            assert model['Weights'].startswith('https://'), model['Name']
        # Results are omitted (not null) where there are no numbers.
        assert model.get('Results', [None]), model['Name']
        for result in model.get('Results', []):
            assert set(result) == {'Task', 'Dataset', 'Metrics'}
            metrics = result['Metrics'].values()
            assert all(isinstance(v, (int, float)) for v in metrics)
