# Copyright (c) mmwsss contributors. All rights reserved.
"""Every config of ``configs/`` runs on a tiny copy of its dataset in the
real layout (:mod:`mmwsss.testing.layouts`): a training config trains one
iteration (one epoch of two batches for epoch-based loops) and validates,
a config that writes stage outputs (CAMs, IR labels, pseudo-masks, BBAM
files) runs its test job over the tiny split.

The configs are run as a user runs them, with only what a CPU test cannot
afford changed (:func:`tiny`): the folders moved by ``--cfg-options
data_root=...`` (and ``ood_root``) as ``tools/train.py`` moves them,
``work_dirs/`` moved into the session's folder, image sizes above 128
pixels divided by 4, batches of at most 2, one iteration, no pretrained
weights (``init_cfg=dict(type='Pretrained')``, also inside a list of
initialisers, and ``load_from`` dropped: no
download is possible) and the iterative jobs cut to 2 iterations.

Chained stages read what their upstream config wrote in this session,
found from the paths themselves: a config that reads a ``work_dirs/`` path
(CAM folder, IR labels, pseudo-masks, BBAM jsons) first runs the config
whose test job writes it; a random walk loads the weights its IRNet config
trained here. New configs join automatically; a dataset name without a
fixture fails with the list of known ones.
"""
import glob
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmwsss.testing import output_arrays
from mmwsss.utils.launch import (build_runner, merge_options, rebase_paths,
                                 resolve_work_dir_placeholders)
from mmwsss.utils.threads import add_channels_last_hook

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# configs/pipelines/ holds the stage lists of tools/run_pipeline.py, not
# model configs (tests/test_configs/test_pipeline_configs.py runs them).
NOT_MODEL_CONFIG_FOLDERS = ('_base_', 'pipelines')
CONFIGS = sorted(
    osp.relpath(path, osp.join(ROOT, 'configs'))
    for path in glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
    if osp.basename(osp.dirname(path)) not in NOT_MODEL_CONFIG_FOLDERS)
# Longest first: 'synthvoc-wsol' before 'synthvoc'.
DATASETS = ('synthvoc-wsol', 'stanford-dogs', 'fgvc-aircraft', 'openimages',
            'synthvoc', 'voc12aug', 'coco14', 'cub', 'in1k')
# Big models or many images: in the suite, but deselected by -m "not slow".
FAST_DATASETS = ('synthvoc', 'synthvoc-wsol')
# Model settings that make iterative jobs affordable on a CPU (and W-OoD's
# K-means fit the few OoD images of the fixture).
MODEL_OVERRIDES = dict(
    adv_iter=2, num_iters=2, num_workers=0, num_ood_clusters=2)
SIZE_KEYS = ('crop_size', 'scale', 'scales', 'size', 'long_side_range',
             'test_pad_size', 'test_sizes')
WRITER_OUTPUT_KEYS = ('output_dir', 'ann_file', 'fg_ann_file',
                      'ignore_ann_file')


def dataset_of(config: str) -> str:
    """The dataset token of a config name (``{...}_{dataset}[-...]``).

    Raises:
        ValueError: Naming the known datasets, for a name without one.
    """
    stem = osp.splitext(osp.basename(config))[0]
    for part in stem.split('_'):
        for dataset in DATASETS:
            if part == dataset or part.startswith(dataset + '-'):
                return dataset
    raise ValueError(
        f'{config}: no known dataset in its name (known: {DATASETS}); give '
        'the dataset its fixture in tests/test_configs/test_every_config.py '
        '(mmwsss.testing.layouts) and its token in DATASETS')


def _params():
    params = []
    for config in CONFIGS:
        try:
            slow = dataset_of(config) not in FAST_DATASETS
        except ValueError:
            slow = False  # fails loudly in the test
        marks = [pytest.mark.slow] if slow else []
        params.append(pytest.param(config, marks=marks, id=config))
    return params


def _walk(node, visit):
    """Call ``visit(dict)`` on every dict inside ``node``."""
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, visit)


def _ints(value) -> List[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (list, tuple)):
        return [i for v in value for i in _ints(v)]
    return []


def _quartered(value):
    if isinstance(value, bool) or not isinstance(value, (int, list, tuple)):
        return value
    if isinstance(value, int):
        return value // 4
    return type(value)(_quartered(v) for v in value)


def _shrunk(value):
    """Pixel sizes divided by 4 where one is above 128 (scale factors and
    the SynthVOC recipes' small sizes kept; pairs stay ordered)."""
    return _quartered(value) if max(_ints(value), default=0) > 128 else value


def _evaluators(cfg) -> List[dict]:
    evaluator = cfg.get('test_evaluator') or []
    return list(evaluator) if isinstance(evaluator, list) else [evaluator]


def _writes(cfg) -> List[str]:
    """The paths the test job of ``cfg`` writes."""
    return [
        ev[key] for ev in _evaluators(cfg) for key in WRITER_OUTPUT_KEYS
        if 'Writer' in str(ev.get('type', '')) and ev.get(key)
    ]


def _reads(cfg, work_dirs: str) -> List[str]:
    """The paths under ``work_dirs`` of the dataloaders, hooks and model
    (the outputs of other stages; checkpoints excluded)."""
    found = []

    def visit(node):
        for key, value in node.items():
            if (isinstance(value, str) and value.startswith(work_dirs + '/')
                    and not value.endswith('.pth')):
                found.append(value)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'custom_hooks', 'model'):
        _walk(cfg.get(key), visit)
    return found


def is_train_config(cfg) -> bool:
    return bool(cfg.get('train_cfg')) and bool(cfg.get('train_dataloader'))


def _drop_pretrained(cfg) -> None:

    def visit(node):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        elif isinstance(init, list):  # the other initialisers stay
            node['init_cfg'] = [
                one for one in init if one.get('type') != 'Pretrained'
            ] or None
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None

    _walk(cfg.get('model'), visit)
    cfg.load_from = None


def _clusters_by_predicted_class(cfg) -> bool:
    """Whether W-OoD's hook groups the OoD features by predicted class
    (then ``num_ood_clusters`` must equal the number of classes)."""
    return any(
        hook.get('ood_clustering') == 'predicted_class'
        for hook in cfg.get('custom_hooks') or [])


def tiny(config: str, roots: Dict[str, str], work_dirs: str) -> Config:
    """Load ``config`` pointed at the fixture, cut down for a CPU test:
    pixel sizes quartered, ResNet-101 backbones as ResNet-50, one epoch or
    iteration, small batches."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    dataset = dataset_of(config)
    options = {}
    if cfg.get('data_root') is None:
        raise AssertionError(f'{config} has no top-level data_root')
    root = roots[dataset]
    if cfg.data_root.rstrip('/').endswith('VOCdevkit'):
        root = osp.dirname(root)
    options['data_root'] = root + ('/' if cfg.data_root.endswith('/') else '')
    if cfg.get('ood_root'):
        # W-OoD's OoD images: the fixture's set for this dataset
        options['ood_root'] = roots[f'{dataset}-ood']
    merge_options(cfg, options)
    rebase_paths(cfg, 'work_dirs', work_dirs)
    cfg.work_dir = osp.join(work_dirs, osp.splitext(osp.basename(config))[0])
    resolve_work_dir_placeholders(cfg)
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    cfg.experiment_name = osp.basename(cfg.work_dir)
    _drop_pretrained(cfg)

    def visit(node):
        if 'type' in node:
            for key in SIZE_KEYS:
                if key in node:
                    node[key] = _shrunk(node[key])
        if node.get('depth') == 101 and 'ResNet' in str(node.get('type')):
            node['depth'] = 50  # same channels, half the blocks
        if 'dataset' in node and 'batch_size' in node:
            node['batch_size'] = min(node['batch_size'], 2)
            node['num_workers'] = 0
            if 'persistent_workers' in node:
                node['persistent_workers'] = False

    for key in list(cfg.keys()):
        if key.endswith('dataloader') or key in ('model', 'custom_hooks'):
            _walk(cfg[key], visit)
    # grouped by predicted class, W-OoD has one OoD cluster per class (no
    # K-means to fit)
    kept = ('num_ood_clusters', ) if _clusters_by_predicted_class(cfg) else ()
    for key, value in MODEL_OVERRIDES.items():
        if key in cfg.model and key not in kept:
            cfg.model[key] = value
    if is_train_config(cfg):
        loop = cfg.train_cfg
        if 'max_iters' in loop:
            loop.max_iters = 1
        else:
            loop.max_epochs = 1
        if 'val_interval' in loop:
            loop.val_interval = 1
        cfg.default_hooks.checkpoint = None
    return cfg


class ConfigRuns:
    """Runs configs once per session, upstream stages first."""

    def __init__(self, roots: Dict[str, str], work_dirs: str):
        self.roots = roots
        self.work_dirs = work_dirs
        self.done: Dict[str, dict] = {}
        self.writers: Optional[Dict[str, str]] = None

    def _writer_of(self, path: str) -> str:
        """The config whose test job writes ``path`` (session paths)."""
        if self.writers is None:
            self.writers = {}
            for config in CONFIGS:
                try:
                    cfg = tiny(config, self.roots, self.work_dirs)
                except Exception:  # reported by its own test
                    continue
                for written in _writes(cfg):
                    self.writers.setdefault(written.rstrip('/'), config)
        if path.rstrip('/') not in self.writers:
            raise AssertionError(
                f'{path} is read, but no config writes it')
        return self.writers[path.rstrip('/')]

    def _irnet_of(self, config: str) -> str:
        """The IRNet training config of a random-walk config: same folder,
        same dataset."""
        folder = osp.dirname(config)
        found = [
            other for other in CONFIGS
            if osp.dirname(other) == folder and dataset_of(other) ==
            dataset_of(config) and Config.fromfile(
                osp.join(ROOT, 'configs', other)).model.get('type') ==
            'mmwsss.IRNet'
        ]
        assert len(found) == 1, f'{config}: IRNet configs {found}'
        return found[0]

    def run(self, config: str) -> dict:
        """Train and/or run the test job of ``config``; what it produced."""
        if config in self.done:
            return self.done[config]
        cfg = tiny(config, self.roots, self.work_dirs)
        for path in _reads(cfg, self.work_dirs):
            upstream = self._writer_of(path)
            if upstream != config:
                self.run(upstream)
        if cfg.model.get('type') in ('mmwsss.IRNetRandomWalk',
                                     'mmwsss.IRNetInstanceWalk'):
            cfg.load_from = self.run(self._irnet_of(config))['checkpoint']
        result = dict(cfg=cfg)
        if not is_train_config(cfg):
            # as tools/test.py runs it: channels-last on a CPU where the
            # config opts in
            add_channels_last_hook(cfg)
        runner = build_runner(cfg)
        if is_train_config(cfg):
            runner.train()
            assert runner.iter >= 1
            result['checkpoint'] = osp.join(cfg.work_dir, 'final.pth')
            model = runner.model
            torch.save(
                dict(state_dict=model.state_dict(), meta=dict()),
                result['checkpoint'])
        writes = _writes(cfg)
        if writes or not is_train_config(cfg):
            result['metrics'] = runner.test()
        for path in writes:
            assert osp.exists(path), f'{config} did not write {path}'
        self.done[config] = result
        return result


@pytest.fixture(scope='session')
def config_runs(tmp_path_factory) -> ConfigRuns:
    from mmwsss.testing.layouts import build_real_layouts
    root = str(tmp_path_factory.mktemp('layouts'))
    roots = build_real_layouts(root)
    roots['synthvoc-wsol'] = osp.join(roots['synthvoc'], 'wsol')
    return ConfigRuns(roots, osp.join(root, 'work_dirs'))


def test_configs_are_found():
    assert len(CONFIGS) >= 60
    assert not [
        c for c in CONFIGS if c.startswith(('_base_/', 'pipelines/'))
    ]


def test_dataset_names():
    assert dataset_of('moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py'
                      ) == 'synthvoc-wsol'
    assert dataset_of('deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-'
                      '321x321_pseudo-crf.py') == 'voc12aug'
    assert dataset_of('moana/rfga_r50-os8_1xb20-60e_fgvc-aircraft-448.py'
                      ) == 'fgvc-aircraft'
    assert dataset_of('cam/cam_vgg16-os16_1xb32-10e_openimages-224.py'
                      ) == 'openimages'
    with pytest.raises(ValueError, match='no known dataset.*in1k'):
        dataset_of('x/cam_r50_1xb8-5e_ade20k.py')


@pytest.mark.parametrize('config', _params())
def test_config_runs_on_its_dataset_layout(config, config_runs):
    result = config_runs.run(config)
    cfg = result['cfg']
    if not is_train_config(cfg):
        # a job scores what it wrote where it has metrics (random weights:
        # the values themselves mean nothing)
        metrics = [ev for ev in _evaluators(cfg) if 'Writer' not in ev.type]
        assert not metrics or result['metrics'], config


def test_one_data_root_override_moves_every_dataset_path():
    # mmengine substitutes data_root when reading the file; merge_options
    # moves what was derived from it: dataloaders, hooks, metrics, model
    for config in CONFIGS:
        cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
        old = cfg.get('data_root')
        assert old, f'{config} has no top-level data_root'
        old = old.rstrip('/')
        merge_options(cfg, dict(data_root='/moved'))
        stale, moved = [], []

        def visit(node):
            for value in node.values():
                if isinstance(value, str):
                    if value == old or value.startswith(old + '/'):
                        stale.append(value)
                    if value.startswith('/moved'):
                        moved.append(value)

        _walk(cfg.to_dict(), visit)
        assert not stale, f'{config}: not moved: {stale}'
        assert moved, config


def test_the_coco14_layout_reads_as_its_converter_documents(config_runs):
    # the converted tree, read as the converter says (and the coco14 configs)
    from mmwsss.datasets import VOCWSSSDataset
    for split in ('train2014', 'val2014'):
        dataset = VOCWSSSDataset(
            data_root=config_runs.roots['coco14'],
            ann_file=f'ImageSets/{split}.txt',
            data_prefix=dict(
                img_path=split, seg_map_path=f'SegmentationClass/{split}'),
            label_source='seg')
        assert len(dataset) > 0
        assert len(dataset.metainfo['classes']) == 80
        assert osp.isfile(dataset.get_data_info(0)['img_path'])


#: One SynthVOC config of each model family whose ``cpu_cfg`` runs it
#: channels-last on a CPU (:class:`mmwsss.ChannelsLastHook`).
CHANNELS_LAST_FAMILIES = (
    'cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py',
    'moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py',
    'advcam/advcam_cam-r18w32-os16_synthvoc.py',
    'rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py',
    'ficklenet/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py',
    'gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py',
    'irn/irnet_r18w32_1xb16-10e_synthvoc-128.py',
    'irn/irnet-rw_r18w32_synthvoc.py',
    'irn/irnet-ins_r18w32_synthvoc.py',
    'deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py',
)


def _assert_layouts_agree(contiguous, channels_last, what: str) -> None:
    """Float outputs equal to rounding; labels (argmaxes of those floats)
    equal but for the rare near-tie."""
    pairs = list(
        zip(output_arrays(contiguous), output_arrays(channels_last)))
    assert pairs, f'{what}: no tensor in the outputs'
    for (name, a), (_, b) in pairs:
        assert a.shape == b.shape, f'{what}{name}'
        if np.issubdtype(a.dtype, np.floating):
            scale = float(np.abs(a).max()) if a.size else 0.0
            np.testing.assert_allclose(
                b, a, rtol=1e-3, atol=1e-4 * max(scale, 1e-6),
                err_msg=f'{what}{name}')
        elif a.size:
            assert (a == b).mean() >= 0.99, f'{what}{name}'


@pytest.mark.parametrize('config', CHANNELS_LAST_FAMILIES)
def test_channels_last_configs_compute_as_contiguous(config, config_runs):
    """A config that opts in gives the same outputs (test step) and losses
    (training configs) from the same weights and batch in either layout."""
    config_runs.run(config)  # its upstream stages' files, channels-last
    cfg = tiny(config, config_runs.roots, config_runs.work_dirs)
    assert cfg.get('cpu_cfg', {}).get('channels_last'), config
    cfg.work_dir += '_layouts'
    model = build_runner(cfg).model

    def run_both(step):
        outputs = []
        for layout in (torch.contiguous_format, torch.channels_last):
            model.to(memory_format=layout)
            torch.manual_seed(0)
            outputs.append(step())
        assert any(p.dim() == 4 and not p.is_contiguous()
                   for p in model.parameters()), 'not converted'
        return outputs

    if is_train_config(cfg):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
        model.train()

        def losses():
            data = model.data_preprocessor(batch, True)
            return model(**data, mode='loss')

        _assert_layouts_agree(*run_both(losses), f'{config} losses')
    if not cfg.get('test_dataloader'):  # a training-only config
        return
    batch = next(iter(Runner.build_dataloader(cfg.test_dataloader)))
    model.eval()

    def predictions():
        with torch.no_grad():
            return model.test_step(batch)

    _assert_layouts_agree(*run_both(predictions), f'{config} outputs')
