# A modern alternative to DeepLab-v2 for the segmentation stage: mmseg's
# DeepLabV3+ R-101-D8 VOC recipe (ResNetV1c-101, output stride 8,
# depthwise-separable ASPP + low-level decoder, auxiliary FCN head, SyncBN,
# SGD lr 0.01, poly, 20k iterations, 4 GPUs x 4 images, crop 512) unchanged,
# trained on the pseudo-masks of VOC 2012 train_aug instead of
# SegmentationClassAug; validated on VOC val with the real ground truth.
#   bash tools/dist_train.sh configs/deeplabv2/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512_pseudo.py 4
#   python tools/test.py configs/deeplabv2/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512_pseudo.py CKPT [--tta]
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-20k_voc12aug-512x512.py'
]

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
# exact --resume (see configs/_base_/default_runtime_cls.py)
default_hooks = dict(
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))

data_root = 'data/VOCdevkit/VOC2012'
pseudo_mask_dir = 'work_dirs/irnet-rw_r50_voc12aug/pseudo_masks'
num_classes = 21
crop_size = (512, 512)

# mmseg's VOC training pipeline with the pseudo-masks as labels.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadPseudoLabel', num_classes=num_classes),
    dict(
        type='RandomResize',
        scale=(2048, 512),
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='Pad', size=crop_size),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmwsss.PseudoLabelSegDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pseudo_mask_dir=pseudo_mask_dir,
        pipeline=train_pipeline))
