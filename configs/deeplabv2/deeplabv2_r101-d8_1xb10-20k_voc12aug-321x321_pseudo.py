# DeepLab-v2 (ResNet-101, ASPP-L) trained on the semantic pseudo-masks of VOC
# 2012 train_aug and validated on VOC val with the real ground truth: the last
# stage of IRN, AdvCAM, RIB, W-OoD and BBAM. Recipe of the DeepLab-v2 PyTorch
# code these papers used (kazuto1011/deeplab-pytorch, configs/voc12.yaml):
# batch 10, crop 321, random scale 0.5-1.5 and flip, SGD lr 2.5e-4 (ASPP
# weights x10, biases x20 without weight decay), momentum 0.9, weight decay
# 5e-4, poly 0.9, 20k iterations, frozen BatchNorm, test at the original size.
# Differences: ImageNet weights of torchvision (the papers' ImageNet init, not
# the reference's COCO-pretrained caffemodel), single-scale training (the
# reference also trains on 0.5x and 0.75x inputs, MSC), uniform scale instead
# of the five scales, lr updated every iteration (reference: every 10).
#   python tools/train.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py \
#       [--cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR]
#   python tools/test.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py CKPT --tta
# (--tta: 5 scales x flip; ..._pseudo-crf.py adds the dense CRF.)
_base_ = [
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
# exact --resume (see configs/_base_/default_runtime_cls.py)
default_hooks = dict(
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))

# On a CPU, tools/test.py runs the model with channels-last weights
# (mmwsss.ChannelsLastHook): test steps of the SynthVOC models 1.1-1.7x
# faster (benchmarks/channels_last.py), the same outputs to float rounding.
# Training runs as written (README, Performance). Set channels_last=False
# when adding a part whose kernels read NCHW memory directly (mmcv's CPU
# RoIAlign does).
cpu_cfg = dict(channels_last=True)

data_root = 'data/VOCdevkit/VOC2012'
# Written by configs/irn/irnet-rw_r50_voc12aug.py (IRN); any other folder:
# --cfg-options train_dataloader.dataset.pseudo_mask_dir=DIR
pseudo_mask_dir = 'work_dirs/irnet-rw_r50_voc12aug/pseudo_masks'
num_classes = 21
crop_size = (321, 321)
# Crops are padded with the mean colour (BGR: images load as BGR) as the
# reference pads with 0 after mean subtraction.
mean_bgr = (104, 116, 124)

# Frozen BatchNorm (statistics and affine parameters), as DeepLab-v2.
norm_cfg = dict(type='BN', requires_grad=False)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    # torchvision-style ResNet (7x7 stem, stride in the 3x3 conv), output
    # stride 8: layer3/layer4 dilated by 2/4 in every block.
    backbone=dict(
        type='ResNet',
        depth=101,
        num_stages=4,
        out_indices=(3, ),
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=False,
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')),
    decode_head=dict(
        type='mmwsss.ASPPv2Head',
        in_channels=2048,
        dilations=(6, 12, 18, 24),
        num_classes=num_classes,
        align_corners=False,
        loss_decode=dict(
            type='mmseg.CrossEntropyLoss', use_sigmoid=False,
            loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

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
# Original size, as the reference evaluates.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# Multi-scale + flip testing (tools/test.py --tta): softmax averaged over
# 5 scales x 2 flips by mmseg's SegTTAModel (tta_model of the runtime).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='Resize', scale_factor=r, keep_ratio=True)
                for r in img_ratios
            ],
            [
                dict(type='RandomFlip', prob=0., direction='horizontal'),
                dict(type='RandomFlip', prob=1., direction='horizontal')
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ])
]

train_dataloader = dict(
    batch_size=10,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='mmwsss.PseudoLabelSegDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pseudo_mask_dir=pseudo_mask_dir,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='mmwsss.PseudoLabelSegDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

max_iters = 20000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    clip_grad=None,
    # DeepLab's lr_mult/decay_mult: classifier (ASPP) weights x10, its biases
    # x20 without weight decay. Frozen BN leaves only backbone conv weights
    # at the base lr.
    paramwise_cfg=dict(
        custom_keys={
            'decode_head': dict(lr_mult=10.),
            **{
                f'decode_head.aspp_convs.{i}.bias': dict(
                    lr_mult=20., decay_mult=0.)
                for i in range(4)
            }
        }))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=2000)
