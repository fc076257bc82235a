# Semi-supervised CCT on PASCAL VOC 2012 as J. Lee's dissertation uses it
# (Table 3.3, 1.5K pixel-level masks + 9.1K image-level labels): the 1,464
# images of VOC train with their masks, the other 9,118 of train_aug with
# pseudo-masks from our pipeline, validated on VOC val with the real ground
# truth. The dissertation takes CCT, which makes those pseudo-masks with
# IRN, and replaces them with its own (AdvCAM's, 77.8 val mIoU):
# ./cct_r50-d8_1xb20-59k_voc12aug-321x321-advcam.py; this config reads IRN's
# (configs/irn/irnet-rw_r50_voc12aug.py), as CCT does (73.2 in Table 3.3).
# The pseudo-masks train the auxiliary decoders (CCT's weak-label loss,
# weight 0.4 relative to the ramp-up), every unlabelled image also gets the
# consistency loss (MSE of softmaxes, weight 30 ramped up over the first 10 %
# of training).
# Recipe of the CCT release (yassouali/CCT, configs/config.json, trainer):
# ResNet-50 at output stride 8 + pyramid pooling to 512 channels, main decoder
# and 30 auxiliary decoders (I-VAT 2, DropOut 6, G-Cutout 6, Con-Msk 2,
# Obj-Msk 2, F-Drop 6, F-Noise 6; xi 1e-6, eps 2, drop rate 0.5, erase 0.4,
# noise range 0.3); batches of 10 labelled + 10 unlabelled images; SGD lr
# 1e-2 (backbone x0.1), momentum 0.9, weight decay 1e-4, poly 0.9; 65 epochs
# of the unlabelled set (65 x ceil(9118 / 10) = 59,280 iterations).
# Differences: mmseg's ResNetV1c-50 (deep stem) with its ImageNet weights
# (CCT: the deep-stem ResNet-50 of torchcv); crops of 321 after a 0.5-1.5
# rescale as our DeepLab stage (the release's config.json shows 160-pixel
# crops of 200-pixel images; the CCT paper was not at hand to check its
# crop); one forward pass of the mixed batch (CCT passes the labelled and
# unlabelled halves separately, so its BatchNorm statistics are per half).
#   python tools/train.py configs/cct/cct_r50-d8_1xb20-59k_voc12aug-321x321.py \
#       [--cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR]
#   python tools/test.py configs/cct/cct_r50-d8_1xb20-59k_voc12aug-321x321.py CKPT
_base_ = ['../deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py']

# Written by configs/irn/irnet-rw_r50_voc12aug.py.
pseudo_mask_dir = 'work_dirs/irnet-rw_r50_voc12aug/pseudo_masks'
num_classes = 21
crop_size = (321, 321)
mean_bgr = (104, 116, 124)
# CCT trains BatchNorm.
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        _delete_=True,
        type='mmwsss.CCTHead',
        in_channels=2048,
        channels=512,
        num_classes=num_classes,
        pool_scales=(1, 2, 3, 6),
        upscale=8,
        norm_cfg=norm_cfg,
        align_corners=False,
        unsup_loss_weight=30.,
        weak_loss_weight=0.4,
        rampup_ratio=0.1,
        loss_decode=dict(
            type='mmseg.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0)))

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
    # pixel_labelled tells CCTHead which loss a sample gets.
    dict(
        type='PackSegInputs',
        meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                   'pad_shape', 'scale_factor', 'flip', 'flip_direction',
                   'pixel_labelled')),
]
train_dataloader = dict(
    batch_size=20,
    # one pixel-labelled + one pseudo-labelled index, repeated: 10 + 10
    sampler=dict(
        _delete_=True,
        type='mmwsss.SemiSupervisedSampler',
        num_labelled=1,
        num_weak=1),
    dataset=dict(
        _delete_=True,
        type='mmwsss.SemiSupervisedSegDataset',
        data_root={{_base_.data_root}},
        ann_file='ImageSets/Segmentation/train_aug.txt',
        labelled_ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        pseudo_mask_dir=pseudo_mask_dir,
        pipeline=train_pipeline))

max_iters = 59280
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=1e-2, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(
        _delete_=True, custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=5928)
default_hooks = dict(checkpoint=dict(interval=5928))
