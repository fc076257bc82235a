# Mask R-CNN R-101-FPN trained on the BBAM pseudo-masks of VOC 2012 train_aug
# (./bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py), as the official
# BBAM_VOC_aug_FPN_R101_MaskRCNN.yaml: foreground masks (rank fraction 0.85)
# paired with ignore masks (0.2), seed-growing mask loss with growth 0.9/0.1
# (mmwsss.SeedGrowingMaskHead), MSRA/caffe ResNet-101, anchors 21..332, short
# side 416..512 (max 800), test 512, batch 8, lr 0.008 with 500 warm-up
# iterations, step at 16k, 20k iterations, 28x28 mask targets.
# Evaluated (bbox and segm) on VOC 2012 val instance masks in COCO format,
# data/VOCdevkit/VOC2012/annotations/instances_val2012.json (category names
# as mmdet's VOCDataset), like the reference's voc_2012_val_cocostyle.json.
#   bash tools/dist_train.sh \
#       configs/bbam/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py 8
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_voc12aug_18k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

data_root = 'data/VOCdevkit/'
bbam_dir = 'work_dirs/bbam_faster-rcnn_r101-caffe_fpn_voc12aug/bbam'
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
           'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
           'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
metainfo = dict(classes=classes)
val_ann_file = data_root + 'VOC2012/annotations/instances_val2012.json'

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
    rpn_head=dict(
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[1],
            base_sizes=[21, 42, 84, 168, 332],
            ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16, 32, 64])),
    roi_head=dict(
        bbox_head=dict(num_classes=len(classes)),
        mask_head=dict(
            _delete_=True,
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=len(classes),
            grow_threshold=0.9)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmwsss.LoadBoxPseudoAnnotations', with_bbox=True,
        with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(800, short) for short in range(416, 513, 32)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmwsss.PackBoxPseudoInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(800, 512), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
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
        type='mmwsss.BoxPseudoCocoDataset',
        metainfo=metainfo,
        ann_file=bbam_dir + '/instances_train_aug_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_aug_ignore20.json',
        data_prefix=dict(img=data_root + 'VOC2012/JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        metainfo=metainfo,
        ann_file=val_ann_file,
        data_prefix=dict(img=data_root + 'VOC2012/JPEGImages/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric', ann_file=val_ann_file, metric=['bbox', 'segm'])
test_evaluator = val_evaluator

# The official Mask R-CNN schedule: 20k iterations of batch 8, lr 0.008,
# one step at 16k.
max_iters = 20000
train_cfg = dict(max_iters=max_iters, val_interval=5000)
param_scheduler = [
    _base_.param_scheduler[0],  # the same warm-up
    dict(_base_.param_scheduler[1], end=max_iters, milestones=[16000])
]
optim_wrapper = dict(optimizer=dict(lr=0.008))
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=5000,
        max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(base_batch_size=8)
