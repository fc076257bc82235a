# Mask R-CNN R-50-FPN trained on the BBAM pseudo-masks of MS COCO 2014
# train2014 (./bbam_faster-rcnn_r50-caffe_fpn_coco14.py): foreground masks
# (rank fraction 0.85) paired with ignore masks (0.2), seed-growing mask
# loss with growth 0.9/0.1 (mmwsss.SeedGrowingMaskHead), as the official VOC
# Mask R-CNN. BBAM releases no COCO Mask R-CNN config: the backbone and
# schedule are those of its COCO detector (MSRA/caffe R-50, short side 800,
# batch 8, lr 0.01, 180k iterations, steps 120k/160k). Evaluated (bbox and
# segm) on val2014 with annotations/instances_val2014.json (the paper: COCO
# 2017 val, dissertation Tables 5.2 and 5.4).
#   bash tools/dist_train.sh \
#       configs/bbam/mask-rcnn_r50-caffe_fpn_8xb1-180k_coco14-bbam.py 8
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_coco14_180k.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

data_root = 'data/coco2014/'
bbam_dir = 'work_dirs/bbam_faster-rcnn_r50-caffe_fpn_coco14/bbam'
image_scale = (1333, 800)
val_ann_file = data_root + 'annotations/instances_val2014.json'

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
            checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(
        mask_head=dict(
            _delete_=True,
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=80,
            grow_threshold=0.9)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmwsss.LoadBoxPseudoAnnotations', with_bbox=True,
        with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmwsss.PackBoxPseudoInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
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
        ann_file=bbam_dir + '/instances_train2014_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train2014_ignore20.json',
        data_prefix=dict(img=data_root + 'train2014/'),
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
        ann_file=val_ann_file,
        data_prefix=dict(img=data_root + 'val2014/'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric', ann_file=val_ann_file, metric=['bbox', 'segm'])
test_evaluator = val_evaluator

default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=10000,
        max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
log_processor = dict(by_epoch=False)
