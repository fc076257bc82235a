# Copyright (c) mmwsss contributors. All rights reserved.
"""The W-OoD configs of MS COCO 2014 keep the VOC recipe's W-OoD settings,
read COCO's data and a COCO OoD set, and chain their IRN / DeepLab stages
with W-OoD's IRN settings."""
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WOOD = osp.join(ROOT, 'configs', 'wood')
VOC = 'wood_r50-os16_k50_1xb16-5e_voc12aug-512.py'
COCO_CHAIN = ('wood_r50-os16_k50_1xb16-5e_coco14-512.py',
              'ir-label_r50-os16_coco14-wood.py',
              'irnet_r50_1xb32-3e_coco14-512-wood.py',
              'irnet-rw_r50_coco14-wood.py',
              'deeplabv2_r101-d8_1xb10-100k_coco14-481x481-wood.py')
# what the COCO config changes in the model: the data, not the method
DATA_KEYS = ('data_preprocessor', 'head', 'ood_data', 'excluded_classes')


def _cfg(name):
    return Config.fromfile(osp.join(WOOD, name)).to_dict()


def _stem(name):
    return osp.splitext(name)[0]


def _strings(node):
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_coco_wood_keeps_the_voc_recipe_on_coco_data():
    voc, coco = _cfg(VOC), _cfg(COCO_CHAIN[0])
    cam = Config.fromfile(
        osp.join(ROOT, 'configs', 'cam',
                 'cam_r50-os16_1xb16-5e_coco14-512.py')).to_dict()
    method = {k: v for k, v in voc['model'].items() if k not in DATA_KEYS}
    assert {k: v
            for k, v in coco['model'].items() if k not in DATA_KEYS} == method
    assert coco['model']['head']['num_classes'] == 80
    assert coco['model']['data_preprocessor']['num_classes'] == 80
    # the reference's "bottle" (VOC index 4) belongs to its VOC OoD set
    assert coco['model']['excluded_classes'] == ()
    assert coco['load_from'] == (
        'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/epoch_5.pth')
    for key in ('optim_wrapper', 'param_scheduler', 'default_hooks'):
        assert coco[key] == voc[key], key
    # the COCO CAM recipe's data
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert coco[loader] == cam[loader], loader
    hook, voc_hook = coco['custom_hooks'][0], voc['custom_hooks'][0]
    assert hook['in_dataset'] == dict(
        cam['train_dataloader']['dataset'],
        pipeline=voc_hook['in_dataset']['pipeline'])
    assert {k: v for k, v in hook.items() if not k.endswith('dataset')} == {
        k: v for k, v in voc_hook.items() if not k.endswith('dataset')}
    # both OoD datasets read the COCO OoD set, nothing reads VOC's
    for ood in (hook['ood_dataset'], coco['model']['ood_data']['dataset']):
        assert (ood['data_root'], ood['ann_file']) == (
            coco['ood_root'], 'ood_list.txt')
    assert coco['ood_root'] != voc['ood_root']
    assert not [
        s for s in _strings(coco)
        if 'VOCdevkit' in s or s.startswith(voc['ood_root'])
    ]


def test_coco_stages_chain_with_wood_irn_settings():
    wood, ir_label, irnet, rw, deeplab = (_cfg(n) for n in COCO_CHAIN)
    assert wood['test_evaluator'][0] == dict(
        type='mmwsss.CAMWriter', output_dir='{work_dir}/cams')
    cams = f'work_dirs/{_stem(COCO_CHAIN[0])}/cams'
    for stage in (ir_label, rw):
        loader = stage['test_dataloader']['dataset']['pipeline'][1]
        assert loader['type'] == 'mmwsss.LoadCAMFile'
        assert (loader['cam_dir'], loader['num_classes']) == (cams, 80)
    # naver-ai/w-ood run_sample.py
    assert (ir_label['model']['fg_threshold'],
            ir_label['model']['bg_threshold']) == (0.30, 0.15)
    assert (rw['model']['cam_power'], rw['model']['bg_threshold']) == (1.5,
                                                                      0.22)
    assert irnet['train_dataloader']['dataset']['ir_label_dir'] == (
        f'work_dirs/{_stem(COCO_CHAIN[1])}/ir_labels')
    assert deeplab['train_dataloader']['dataset']['pseudo_mask_dir'] == (
        f'work_dirs/{_stem(COCO_CHAIN[3])}/pseudo_masks')
