# CPU-sized Mask R-CNN trained on IRN's instance pseudo-masks of SynthVOC
# train (the merged COCO json of ./irnet-ins_r18w32_synthvoc.py): the SynthVOC
# counterpart of the IRNet row of dissertation Table 5.1. Detector, scale,
# schedule and val evaluation (real masks) are those of
# ../bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py, with mmdet's
# plain mask head (IRN's pseudo-masks have no ignore regions) and from scratch
# (the image-label chain has no detector to start from).
#   python tools/train.py \
#       configs/irn/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-irn.py
_base_ = ['../bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py']

# Written by ./irnet-ins_r18w32_synthvoc.py; any other json:
# --cfg-options train_dataloader.dataset.ann_file=JSON
instance_ann_file = 'work_dirs/irnet-ins_r18w32_synthvoc/instance_masks.json'

model = dict(
    roi_head=dict(
        mask_head=dict(
            _delete_=True,
            type='FCNMaskHead',
            num_convs=4,
            in_channels=64,
            conv_out_channels=64,
            num_classes=len(_base_.classes),
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        metainfo=_base_.metainfo,
        ann_file=instance_ann_file,
        data_prefix=dict(img=_base_.data_root + 'JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
load_from = None
