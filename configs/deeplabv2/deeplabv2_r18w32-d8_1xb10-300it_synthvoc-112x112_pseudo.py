# CPU-sized DeepLab-v2 on SynthVOC pseudo-masks, validated on SynthVOC val
# with the real ground truth (IoUMetric). The VOC config
# ./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py (ASPP-v2 head,
# output stride 8, rescale 0.5-1.5 + crop + flip, batch 10, poly 0.9) shrunk
# to a few CPU minutes: a half-width ResNet-18 (base 32 channels) trained
# from scratch (no pretrained weights offline), hence trained BatchNorm, the
# lr of a from-scratch model and no ASPP lr multipliers; crop 112, 300
# iterations (10 epochs of SynthVOC train). The ASPP rates (6..24) exceed the
# 14x14 feature map of a crop; they are kept so that the head is VOC's.
#   python tools/train.py configs/deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py \
#       [--cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR]
#   python tools/test.py configs/deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py \
#       CKPT [--tta] [--cfg-options test_evaluator.1.output_dir=DIR]
_base_ = ['./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py']

data_root = 'data/synthvoc'
# Written by configs/irn/irnet-rw_r18w32_synthvoc.py. Ground truth as stand-in
# (upper bound): pseudo_mask_dir=data/synthvoc/SegmentationClass
pseudo_mask_dir = 'work_dirs/irnet-rw_r18w32_synthvoc/pseudo_masks'
# Background + the 6 classes of data/synthvoc/meta.json (read by the dataset).
num_classes = 7
crop_size = (112, 112)
mean_bgr = (104, 116, 124)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        depth=18,
        base_channels=32,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
    decode_head=dict(in_channels=256, num_classes=num_classes))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmwsss.LoadPseudoLabel', num_classes=num_classes),
    dict(
        type='mmwsss.RandomRescale',
        scale_range=(0.5, 1.5),
        interpolation='bilinear'),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=crop_size[0],
        pad_val=mean_bgr,
        seg_pad_val=255),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        pseudo_mask_dir=pseudo_mask_dir,
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root, ann_file='ImageSets/Segmentation/val.txt'))
test_dataloader = val_dataloader
# tools/test.py scores the predictions and writes them (VOC palette PNGs, the
# folder the run report's gallery shows); validation during training only
# scores them.
predictions_dir = '{work_dir}/predictions'
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    dict(type='mmwsss.LabelMapWriter', output_dir=predictions_dir),
]
test_cfg = dict(type='mmwsss.ResumableTestLoop')

# A shorter run needs train_cfg.max_iters and param_scheduler.0.end.
max_iters = 300
optim_wrapper = dict(
    optimizer=dict(lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=None)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
randomness = dict(seed=0)
