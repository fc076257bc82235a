# CPU-sized Faster R-CNN on SynthVOC boxes: the detector BBAM explains in the
# demo. A half-width ResNet-18 (base 32 channels) from scratch (no pretrained
# weights offline), FPN with 64 channels, images resized to fit 240x160
# (SynthVOC's own 96-192 px scale; 480x320 trained 4x slower on 2 CPU cores
# for the demo), batch 8, 12 epochs of the 300 training images.
#   python tools/train.py \
#       configs/bbam/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/synthvoc_det.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/schedules/det_synthvoc_12e.py'
]
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

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
            num_classes=len(_base_.classes))),
    # SynthVOC images hold 1-3 objects: fewer proposals and sampled RoIs
    # than mmdet's COCO defaults, for less CPU time per step.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=1),
    # exact --resume (see configs/_base_/default_runtime_cls.py)
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
