# CPU-sized Mask R-CNN trained on the BBAM pseudo-masks of SynthVOC
# (./bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py): foreground masks paired
# with ignore masks, seed-growing mask loss (mmwsss.SeedGrowingMaskHead).
# Same half-width ResNet-18, scale and schedule as the detector, initialised
# from the stage-1 Faster R-CNN (trained on boxes only, so no mask information
# enters; the paper starts from ImageNet weights, which are not available
# offline, and from scratch 12 epochs of 100 pseudo-labelled images are too
# few: segm AP50 35.2 vs 52.6 bbox AP50 in one run); evaluated on the real
# masks of the validation split.
#   python tools/train.py \
#       configs/bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/synthvoc_det.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_synthvoc_12e.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

bbam_dir = 'work_dirs/bbam_faster-rcnn_r18w32_fpn_synthvoc-240/bbam'

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64,
            fc_out_channels=256,
            num_classes=len(_base_.classes)),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(
            _delete_=True,
            type='mmwsss.SeedGrowingMaskHead',
            num_convs=4,
            in_channels=64,
            conv_out_channels=64,
            num_classes=len(_base_.classes),
            grow_threshold=0.9)),
    # SynthVOC images hold 1-3 objects: fewer proposals and sampled RoIs
    # than mmdet's COCO defaults, for less CPU time per step.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

# Train on the BBAM pseudo-masks (jsons in bbam_dir, images in data_root),
# test on the real masks of the val split.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='mmwsss.LoadBoxPseudoAnnotations', with_bbox=True,
        with_mask=True),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmwsss.PackBoxPseudoInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='mmwsss.BoxPseudoCocoDataset',
        metainfo=_base_.metainfo,
        ann_file=bbam_dir + '/instances_train_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_ignore20.json',
        data_prefix=dict(img=_base_.data_root + 'JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
load_from = ('work_dirs/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240/'
             'epoch_12.pth')
# The detector checkpoint has no mask head: that one starts from scratch.
load_from_strict = False
