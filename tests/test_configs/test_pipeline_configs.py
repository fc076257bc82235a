# Copyright (c) mmwsss contributors. All rights reserved.
"""configs/pipelines: every pipeline loads, every stage's config and script
exists, every stage config takes the stage's overrides (each overridden key
is one the config has), every '{stage.output}' resolves into a command line
(a dry run: plans only, nothing trains), and the papers' chains are wired
as their READMEs say."""
import functools
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from mmwsss.apis import (Launcher, Stage, load_pipeline, stage_command,
                         stage_fingerprint)
from mmwsss.apis.pipeline import (CHECKPOINT, REFERENCE, flatten_cfg_options,
                                  resolve)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINES = sorted(
    osp.relpath(path, ROOT)
    for path in glob.glob(osp.join(ROOT, 'configs', 'pipelines', '*.py')))


@functools.lru_cache(maxsize=None)
def _config_dict(path):
    return Config.fromfile(
        osp.join(ROOT, path), import_custom_modules=False).to_dict()


def _load(name):
    return load_pipeline(osp.join(ROOT, 'configs', 'pipelines', name))[1]


def _by_name(name):
    return {stage.name: stage for stage in _load(name)}


def has_parent(cfg: dict, dotted: str) -> bool:
    """Whether ``cfg`` holds every part of the dotted key but the last (list
    items by index): an override may add an argument to a component, not
    invent where it lives."""
    node = cfg
    for part in dotted.split('.')[:-1]:
        if isinstance(node, (list, tuple)) and part.isdigit():
            if int(part) >= len(node):
                return False
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return isinstance(node, dict)


def test_pipelines_are_found():
    assert len(PIPELINES) >= 20


@pytest.mark.parametrize('path', PIPELINES)
def test_stages_resolve(path):
    _, stages = load_pipeline(osp.join(ROOT, path))
    paths = {}
    for stage in stages:
        target = stage.config or stage.script
        assert osp.isfile(osp.join(ROOT, target)), (stage.name, target)
        # parses the stage config and applies its cfg_options
        assert len(stage_fingerprint(stage, ROOT, {})) == 64
        if stage.config:
            cfg = _config_dict(stage.config)
            missing = [
                key for key in flatten_cfg_options(stage.cfg_options)
                if not has_parent(cfg, key)
            ]
            assert not missing, (stage.name, stage.config, missing)
        # the runner's wiring: every reference becomes a path in the
        # command line
        stage_dir = f'/work/{stage.name}'
        for output, rel in stage.outputs.items():
            paths[(stage.name, output)] = f'{stage_dir}/{rel}'
        if stage.kind == 'train':
            paths[(stage.name, CHECKPOINT)] = f'{stage_dir}/epoch_1.pth'
        resolved = Stage(**{
            **stage.__dict__,
            **resolve(stage.command_values(), paths)
        })
        command = stage_command(resolved, stage_dir, Launcher(), 'python')
        assert not any(REFERENCE.search(arg) for arg in command), command


def test_demo_pipelines():
    image = _load('irn_r18w32_synthvoc-demo.py')
    assert [s.name for s in image] == [
        'synthvoc', 'cam', 'cam_seeds', 'cam_chance', 'moana', 'moana_seeds',
        'ir_labels', 'irnet', 'pseudo_masks', 'deeplab', 'deeplab_predictions'
    ]
    by_name = {s.name: s for s in image}
    # the segmenter predicts the images of the other stages (the report's
    # gallery rows) and its writer fills the stage's output folder
    predictions = by_name['deeplab_predictions']
    assert predictions.inputs()[0] == ('deeplab', 'checkpoint')
    assert predictions.cfg_options['test_dataloader.dataset.ann_file'] == (
        'ImageSets/Segmentation/train.txt')
    assert predictions.cfg_options['test_evaluator.1.output_dir'] == (
        '{deeplab_predictions.predictions}')
    # IRN continues from the MoANA classifier and its CAMs
    assert ('moana_seeds', 'cams') in by_name['ir_labels'].inputs()
    assert by_name['irnet'].inputs()[0] == ('moana', 'checkpoint')
    box = _load('bbam_r18w32_synthvoc-demo.py')
    assert [s.name for s in box] == [
        'synthvoc', 'faster_rcnn', 'bbam', 'mask_rcnn'
    ]


IRN_STAGES = ['ir_labels', 'irnet', 'pseudo_masks', 'deeplab', 'deeplab_test']
# pipeline -> (config of its CAM job, IRN's IR-label thresholds, CAM power
# and walk background)
VOC_IRN_CHAINS = {
    'irn_r50_voc12aug.py':
    ('cam/cam_r50-os16_1xb16-5e_voc12aug-512.py', (0.30, 0.05), (1.0, 0.25)),
    'irn_r50_voc12aug-moana.py':
    ('moana/moana_r50-os16_1xb16-5e_voc12aug-512.py', (0.30, 0.05),
     (1.0, 0.25)),
    'irn_r50_voc12aug-advcam.py': ('advcam/advcam_cam-r50-os16_voc12aug.py',
                                   (0.35, 0.15), (1.5, 0.25)),
    'irn_r50_voc12aug-rib.py':
    ('rib/rib-gndrp_r50-os16_k10-b20_voc12aug-512.py', (0.35, 0.17),
     (1.3, 0.27)),
    'irn_r50_voc12aug-ficklenet.py':
    ('ficklenet/ficklenet_r50-os16_1xb16-5e_voc12aug-512.py', (0.30, 0.05),
     (1.0, 0.25)),
    # W-OoD's IRN settings for every chain on the W-OoD classifier
    'irn_r50_voc12aug-wood.py':
    ('wood/wood_r50-os16_k50_1xb16-5e_voc12aug-512.py', (0.30, 0.15),
     (1.5, 0.22)),
    'irn_r50_voc12aug-wood-advcam.py':
    ('advcam/advcam_cam-r50-os16_voc12aug.py', (0.30, 0.15), (1.5, 0.22)),
    'irn_r50_voc12aug-wood-rib.py':
    ('rib/rib-gndrp_r50-os16_k10-b20_voc12aug-512.py', (0.30, 0.15),
     (1.5, 0.22)),
    'irn_r50_voc12aug-wood-advcam-rib.py':
    ('rib/advcam-rib_r50-os16_k10-b20_voc12aug-512.py', (0.30, 0.15),
     (1.5, 0.22)),
}


def _merged(stage):
    cfg = Config.fromfile(
        osp.join(ROOT, stage.config), import_custom_modules=False)
    cfg.merge_from_dict(flatten_cfg_options(stage.cfg_options))
    return cfg


@pytest.mark.parametrize('name', sorted(VOC_IRN_CHAINS))
def test_voc_irn_chains(name):
    cam_config, (fg, bg), (power, walk_bg) = VOC_IRN_CHAINS[name]
    stages = _by_name(name)
    wood = 'wood' in name
    assert list(stages) == (['cam'] if wood else []) + [
        'classifier', 'cams'
    ] + IRN_STAGES
    assert stages['cams'].config == 'configs/' + cam_config
    assert stages['cams'].inputs() == [('classifier', 'checkpoint')]
    if wood:
        assert stages['classifier'].config.startswith('configs/wood/')
        assert stages['classifier'].inputs() == [('cam', 'checkpoint')]
    labels = _merged(stages['ir_labels'])
    assert (labels.model.fg_threshold, labels.model.bg_threshold) == (fg, bg)
    walk = _merged(stages['pseudo_masks'])
    assert (walk.model.cam_power, walk.model.bg_threshold) == (power,
                                                               walk_bg)
    # IRN and DeepLab read the chain's own outputs
    for stage in ('ir_labels', 'pseudo_masks'):
        assert ('cams', 'cams') in stages[stage].inputs()
    assert stages['irnet'].inputs() == [('ir_labels', 'labels')]
    assert stages['deeplab'].inputs() == [('pseudo_masks', 'masks')]
    assert stages['deeplab_test'].inputs() == [('deeplab', 'checkpoint')]


def test_the_table_4_7_chain_composes_advcam_and_rib_in_one_cam_job():
    cams = _by_name('irn_r50_voc12aug-wood-advcam-rib.py')['cams']
    assert _merged(cams).model.type == 'mmwsss.RIBAdvCAMClassifier'


@pytest.mark.parametrize('name', [
    'psa_r50_voc12aug-transcam.py', 'psa_r50_voc12aug-bnr.py'
])
def test_transcam_and_bnr_go_through_psa(name):
    stages = _by_name(name)
    assert list(stages) == [
        'classifier', 'cams', 'psa_labels', 'affinitynet', 'pseudo_masks',
        'deeplab', 'deeplab_test'
    ]
    assert _merged(stages['cams']).model.type == 'mmwsss.TransCAMClassifier'
    assert _merged(stages['pseudo_masks']).model.type == (
        'mmwsss.AffinityNetRandomWalk')
    assert stages['affinitynet'].inputs() == [('psa_labels', 'labels')]


@pytest.mark.parametrize(
    'name', [
        'bbam_r101-caffe_voc12aug.py', 'bbam_r101-caffe_voc12aug-mcg.py',
        'bbam_r18w32_synthvoc.py'
    ])
def test_box_branch_feeds_mask_rcnn_and_deeplab(name):
    stages = _by_name(name)
    assert list(stages)[-5:] == [
        'faster_rcnn', 'bbam', 'mask_rcnn', 'deeplab', 'deeplab_test'
    ]
    assert ('bbam', 'fg_ann') in stages['mask_rcnn'].inputs()
    # (and SynthVOC's data)
    assert ('bbam', 'semantic') in stages['deeplab'].inputs()
    assert ('deeplab', 'checkpoint') in stages['deeplab_test'].inputs()
    assert not [stage for stage, _ in stages['deeplab'].inputs()
                if stage not in ('synthvoc', 'bbam')]


def test_mcg_pipeline_differs_only_in_the_mcg_configs():
    plain = _by_name('bbam_r101-caffe_voc12aug.py')
    mcg = _by_name('bbam_r101-caffe_voc12aug-mcg.py')
    assert list(plain) == list(mcg)
    changed = [name for name in plain if plain[name] != mcg[name]]
    assert changed == ['bbam', 'mask_rcnn']
    assert _merged(mcg['bbam']).model.pseudo_mask_cfg.mcg_dir.endswith('MCG')
    assert 'mcg_dir' not in (
        _merged(plain['bbam']).model.get('pseudo_mask_cfg') or {})


def test_synthvoc_box_branch_labels_every_deeplab_training_image():
    """The SynthVOC BBAM config labels only the first 100 train images (the
    demo's subset); DeepLab trains on the whole train split, whose every
    image needs its pseudo-mask."""
    stages = _by_name('bbam_r18w32_synthvoc.py')
    bbam = _merged(stages['bbam']).test_dataloader.dataset
    assert bbam.ann_file == 'annotations/instances_train.json'
    assert bbam.indices is None
    assert _merged(stages['deeplab']).train_dataloader.dataset.ann_file == (
        'ImageSets/Segmentation/train.txt')
    # the rest is the demo's chain, on the same data
    demo = _by_name('bbam_r18w32_synthvoc-demo.py')
    assert list(stages)[:4] == list(demo)
    for name in ('synthvoc', 'faster_rcnn', 'mask_rcnn'):
        assert stages[name] == demo[name]
    assert stages['bbam'].cfg_options == dict(
        demo['bbam'].cfg_options, **{'test_dataloader.dataset.indices': None})


def test_irn_instances_feed_mask_rcnn():
    stages = _by_name('irn-ins_r50_voc12aug.py')
    assert _merged(stages['instances']).model.type == (
        'mmwsss.IRNetInstanceWalk')
    assert stages['mask_rcnn'].inputs() == [('instances', 'ann')]


def test_rib_sal_pipeline_trains_deeplab_with_and_without_saliency():
    """RIB + S vs RIB: both DeepLab runs read the same pseudo-masks; the
    saliency run differs only in the two saliency transforms (reading the
    generated data's saliency maps)."""
    stages = _by_name('irn_r18w32_synthvoc-rib-sal.py')
    assert stages['synthvoc'].options['saliency'] is True
    assert _merged(stages['cams']).model.type == 'mmwsss.RIBClassifier'
    plain, sal = stages['deeplab'], stages['deeplab_sal']
    assert set(plain.inputs()) == set(sal.inputs()) == {
        ('synthvoc', 'data'), ('pseudo_masks', 'masks')
    }
    assert ('deeplab_sal', 'checkpoint') in stages['deeplab_sal_test'].inputs()
    plain_cfg, sal_cfg = _merged(plain), _merged(sal)
    plain_data = plain_cfg.train_dataloader.dataset
    sal_data = sal_cfg.train_dataloader.dataset
    assert sal_data.pseudo_mask_dir == plain_data.pseudo_mask_dir
    saliency = sal_data.pipeline[2:4]
    assert [t['type'] for t in saliency] == [
        'mmwsss.LoadSaliencyMap', 'mmwsss.SaliencyIgnore'
    ]
    assert saliency[0]['saliency_dir'] == '{synthvoc.data}/Saliency'
    # (and the config-level variables that spell them)
    without = sal_cfg.to_dict()
    del without['train_dataloader']['dataset']['pipeline'][2:4]
    del without['train_pipeline'][2:4], without['saliency_dir']
    assert without == plain_cfg.to_dict()
