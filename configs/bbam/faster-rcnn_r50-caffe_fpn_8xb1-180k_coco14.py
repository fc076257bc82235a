# Faster R-CNN R-50-FPN on the boxes of MS COCO 2014 train2014: the detector
# BBAM explains on COCO. Settings of the official BBAM COCO config
# (BBAM_coco_FPN_R101_FasterRCNN.yaml, which despite its name builds R-50-FPN)
# in mmdet terms: MSRA/caffe ResNet-50 (BGR, mean subtraction, std 1, frozen
# BN, stem and res2 frozen), short side 800 (max 1333), batch 8, lr 0.01,
# steps at 120k and 160k, 180k iterations. The reference trains on COCO
# 2017 train; with the 2017 files use
#   --cfg-options train_dataloader.dataset.ann_file=annotations/instances_train2017.json \
#       train_dataloader.dataset.data_prefix.img=train2017/ (and val2017 likewise).
#   bash tools/dist_train.sh \
#       configs/bbam/faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14.py 8
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_coco14_180k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

# COCO 2014 as distributed: train2014/, val2014/, annotations/
data_root = 'data/coco2014/'
image_scale = (1333, 800)

model = dict(
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        style='caffe',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet50_caffe')))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
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
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(img='train2014/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(img='val2014/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2014.json',
    metric='bbox')
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=10000,
        max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
log_processor = dict(by_epoch=False)
