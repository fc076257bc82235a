# Faster R-CNN R-50-FPN on the boxes of MS COCO 2014 train2014: the detector
# BBAM explains on COCO. Settings of the official BBAM COCO config
# (BBAM_coco_FPN_R101_FasterRCNN.yaml, which despite its name builds R-50-FPN)
# in mmdet terms: the VOC detector of
# ./faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py (MSRA/caffe ResNet, BGR,
# mean subtraction, std 1, frozen BN, stem and res2 frozen) with ResNet-50,
# short side 800 (max 1333), batch 8, lr 0.01, steps at 120k and 160k, 180k
# iterations. The reference trains on COCO 2017 train; with the 2017 files
# use
#   --cfg-options train_dataloader.dataset.ann_file=annotations/instances_train2017.json \
#       train_dataloader.dataset.data_prefix.img=train2017/ (and val2017 likewise).
#   bash tools/dist_train.sh \
#       configs/bbam/faster-rcnn_r50-caffe_fpn_8xb1-180k_coco14.py 8
_base_ = ['./faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py']

# COCO 2014 as distributed: train2014/, val2014/, annotations/
data_root = 'data/coco2014/'

model = dict(
    backbone=dict(
        depth=50,
        init_cfg=dict(checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(bbox_head=dict(num_classes=80)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=1,
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2014.json',
        data_prefix=dict(_delete_=True, img='train2014/'),
        filter_cfg=dict(min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2014.json',
        data_prefix=dict(_delete_=True, img='val2014/')))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2014.json',
    metric='bbox')
test_evaluator = val_evaluator

# ../_base_/schedules/det_coco14_180k.py
max_iters = 180000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    _base_.param_scheduler[0],  # the same warm-up
    dict(
        _base_.param_scheduler[1],
        end=max_iters,
        milestones=[120000, 160000])
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=10000))
