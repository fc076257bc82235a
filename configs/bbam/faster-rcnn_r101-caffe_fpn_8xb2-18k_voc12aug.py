# Faster R-CNN R-101-FPN on the boxes of PASCAL VOC 2012 train_aug (10582
# images): the detector BBAM explains. Settings of the official BBAM config
# (BBAM_VOC_aug_FPN_R101_FasterRCNN.yaml, maskrcnn-benchmark) in mmdet terms:
# MSRA/caffe ResNet-101 (BGR, mean subtraction, std 1, frozen BN, stem and
# res2 frozen), short side 480..800 step 32 (max 1333), test 800, batch 16,
# lr 0.01 with 500 linear warm-up iterations from 1/3, steps at 12k and 16k,
# 18k iterations. Deviation: mmdet's VOCDataset marks difficult objects as
# ignored in training (the reference trains on them).
#   bash tools/dist_train.sh \
#       configs/bbam/faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py 8
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_voc12aug_18k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/'
image_scale = (1333, 800)

model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        depth=101,
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet101_caffe')),
    roi_head=dict(bbox_head=dict(num_classes=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, short) for short in range(480, 801, 32)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    # after Resize: the boxes stay in the original frame
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='VOCDataset',
        data_root=data_root,
        ann_file='VOC2012/ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(sub_data_root='VOC2012/'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='VOCDataset',
        data_root=data_root,
        ann_file='VOC2012/ImageSets/Segmentation/val.txt',
        data_prefix=dict(sub_data_root='VOC2012/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='area')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=6000,
        max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
log_processor = dict(by_epoch=False)
