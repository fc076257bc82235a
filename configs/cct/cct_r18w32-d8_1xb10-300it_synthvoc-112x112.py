# CPU-sized semi-supervised CCT on SynthVOC, validated on SynthVOC val with
# the real ground truth: 20 % of SynthVOC train (60 images, drawn with
# split_seed 0) with their real masks, the other 80 % with the IRN
# pseudo-masks of configs/irn/irnet-rw_r18w32_synthvoc.py, CCT's 30 perturbed
# decoders and losses (see ./cct_r50-d8_1xb20-59k_voc12aug-321x321.py). The
# model and schedule of
# ../deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py
# (half-width ResNet-18 from scratch, output stride 8, crop 112, batch 10,
# 300 iterations, poly lr 0.02) so that the two compare: DeepLab there sees
# only the pseudo-masks, CCT here 5 pixel-labelled + 5 pseudo-labelled
# images per batch. Encoder width (PSP bottleneck) 64 = 256 / 4, as CCT's
# 512 = 2048 / 4; no backbone lr multiplier (nothing is pretrained).
# Measured (README): 19.32 val mIoU, against 53.52 for the DeepLab config on
# the pseudo-masks alone and 26.81 for this network on the 60 masks alone.
#   python tools/train.py configs/cct/cct_r18w32-d8_1xb10-300it_synthvoc-112x112.py \
#       [--cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR]
_base_ = [
    '../deeplabv2/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py'
]

labelled_fraction = 0.2
# as in the base config
num_classes = 7
crop_size = (112, 112)
mean_bgr = (104, 116, 124)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='mmwsss.CCTHead',
        in_channels=256,
        channels=64,
        num_classes=num_classes,
        pool_scales=(1, 2, 3, 6),
        upscale=8,
        norm_cfg=norm_cfg,
        align_corners=False,
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
    # one pixel-labelled + one pseudo-labelled index, repeated: 5 + 5
    sampler=dict(
        _delete_=True,
        type='mmwsss.SemiSupervisedSampler',
        num_labelled=1,
        num_weak=1),
    dataset=dict(
        _delete_=True,
        type='mmwsss.SemiSupervisedSegDataset',
        data_root={{_base_.data_root}},
        ann_file='ImageSets/Segmentation/train.txt',
        labelled_fraction=labelled_fraction,
        split_seed=0,
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pseudo_mask_dir={{_base_.pseudo_mask_dir}},
        pipeline=train_pipeline))
