# Mask R-CNN R-101-FPN trained on IRN's instance pseudo-masks of VOC 2012
# (the merged COCO json of ./irnet-ins_r50_voc12aug.py; the pipeline
# configs/pipelines/irn-ins_r50_voc12aug.py makes them for train_aug), the
# IRNet row of dissertation Table 5.1 (val AP50 46.7, AP70 23.5; IRN CVPR'19).
# Detector, schedule and val evaluation are those of
# ../bbam/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py, so the two rows
# differ only in their pseudo-masks; the mask head is mmdet's plain one (per
# pixel BCE on the pseudo-masks: IRN's have no ignore regions to grow into).
# Every instance of the json is a target (IRN's components under 1 % of the
# image carry score 0; mmdet does not read the score).
#   bash tools/dist_train.sh \
#       configs/irn/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-irn.py 8
_base_ = ['../bbam/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py']

# Written by ./irnet-ins_r50_voc12aug.py; any other json:
# --cfg-options train_dataloader.dataset.ann_file=JSON
instance_ann_file = 'work_dirs/irnet-ins_r50_voc12aug/instance_masks.json'

model = dict(
    roi_head=dict(
        mask_head=dict(
            _delete_=True,
            type='FCNMaskHead',
            num_convs=4,
            in_channels=256,
            conv_out_channels=256,
            num_classes=len(_base_.classes),
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(800, short) for short in range(416, 513, 32)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CocoDataset',
        metainfo=_base_.metainfo,
        ann_file=instance_ann_file,
        data_prefix=dict(img=_base_.data_root + 'VOC2012/JPEGImages/'),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
