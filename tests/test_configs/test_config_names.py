# Copyright (c) mmwsss contributors. All rights reserved.
"""The file names in configs/ follow the naming scheme
``{method}[-{stage}]_{backbone}[-os|-d8]_[{N}xb{B}-{schedule}_]{dataset}
[-{size}][-{source}].py``: one spelling per backbone, and the CAM source of
an IR-label/IRNet stage as a suffix after the dataset."""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    osp.relpath(path, osp.join(ROOT, 'configs'))
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if path.split(osp.sep)[-2] != '_base_')
DATASETS = ('synthvoc-wsol', 'synthvoc', 'voc12aug', 'coco14', 'cub', 'in1k',
            'openimages', 'fgvc-aircraft', 'stanford-dogs')
BACKBONES = ('r18w32', 'r50', 'r101', 'vgg16', 'inception-v3', 'conformer-',
             'vit-')
# The stages that consume the CAMs of a method: their last field is
# ``{dataset}[-{size}][-{source}]`` with the folder (= the method) of the CAMs
# as the source; configs/irn holds the plain CAM ones, which name none.
CAM_CONSUMERS = ('ir-label', 'irnet', 'irnet-rw', 'irnet-ins')
DATASET_FIELD = '({})(-\\d+)?'.format('|'.join(DATASETS))


def backbone_spelling_errors(name: str) -> list:
    """Why ``name`` spells a backbone off-scheme (empty when it does not).

    The width-32 ResNet-18 of the SynthVOC configs is ``r18w32``, never a
    bare ``r18``.
    """
    return [f'{name}: ResNet-18 spelled "{m.group(0)[1:]}", not "r18w32"'
            for m in re.finditer(r'[_-]r18(?!w32)[^_-]*', name)]


def scheme_errors(path: str) -> list:
    """Why the config file ``<folder>/<name>.py`` breaks the scheme."""
    folder, name = path.split('/')
    stem = name[:-len('.py')]
    fields = stem.split('_')
    errors = backbone_spelling_errors(stem)
    if not any(field.startswith(DATASETS) for field in fields[1:]):
        errors.append(f'{path}: no dataset field ({", ".join(DATASETS)})')
    if fields[0] in CAM_CONSUMERS:
        if not fields[1].startswith(BACKBONES):
            errors.append(f'{path}: "{fields[1]}" after "{fields[0]}" is no '
                          'backbone of the scheme (a CAM source goes after '
                          'the dataset)')
        source = '' if folder == 'irn' else f'-{folder}'
        if not re.fullmatch(DATASET_FIELD + re.escape(source), fields[-1]):
            errors.append(f'{path}: the last field must be the dataset '
                          f'[-size]{source or " (plain CAM: no source)"}, '
                          f'got "{fields[-1]}"')
    return errors


def test_configs_are_found():
    assert len(CONFIGS) > 50
    assert 'irn/irnet-rw_r18w32_synthvoc.py' in CONFIGS


@pytest.mark.parametrize('path', CONFIGS)
def test_config_name_follows_the_scheme(path):
    assert scheme_errors(path) == []


@pytest.mark.parametrize('path', [
    'irn/irnet-rw_r18_synthvoc.py',
    'irn/irnet_r18_1xb16-10e_synthvoc-128.py',
    'irn/ir-label_cam-r18-os16_synthvoc.py',
    'advcam/ir-label_advcam-r50-os16_voc12aug.py',
    'rib/irnet-rw_r18w32_synthvoc.py',
    'irn/irnet-rw_r18w32_synthvoc-advcam.py',
    'cam/cam_r18w32-os16_1xb16-20e.py',
])
def test_the_check_rejects_off_scheme_names(path):
    # The names before the renaming, a source missing or misplaced, no
    # dataset.
    assert scheme_errors(path)


def test_batch_field_is_gpus_times_batch_per_gpu():
    # ``{N}xb{B}``: B is the train_dataloader's batch (per GPU); N GPUs make
    # the recipe's total batch (auto_scale_lr's base where a config sets it)
    from mmengine.config import Config
    for path in CONFIGS:
        match = re.search(r'_(\d+)xb(\d+)-', path)
        if match is None or path.startswith('pipelines/'):
            continue
        gpus, per_gpu = int(match.group(1)), int(match.group(2))
        cfg = Config.fromfile(osp.join(ROOT, 'configs', path))
        assert cfg.train_dataloader.batch_size == per_gpu, path
        base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
        assert base in (None, gpus * per_gpu), (path, base)
