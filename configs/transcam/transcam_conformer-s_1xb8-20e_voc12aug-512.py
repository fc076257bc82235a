# TransCAM (Li et al., JVCIR 2023) on VOC 2012 train_aug with the reference
# recipe (liruiwen/TransCAM train_TransCAM.py / infer_TransCAM.py):
# Conformer-S from ImageNet, batch 8, crop 512, 20 epochs, AdamW lr 5e-5,
# weight decay 5e-4, eps 1e-8, constant learning rate; CAMs from square
# 256/512/768 resizes + flips, per-class min-max normalised.
# Train:  python tools/train.py configs/transcam/transcam_conformer-s_1xb8-20e_voc12aug-512.py
# CAMs:   python tools/test.py  configs/transcam/transcam_conformer-s_1xb8-20e_voc12aug-512.py CKPT
_base_ = [
    '../_base_/datasets/voc12aug_cam.py',
    '../_base_/default_runtime_cls.py',
]

mean_rgb = [123.675, 116.28, 103.53]
model = dict(
    type='mmwsss.TransCAMClassifier',
    num_classes=20,
    cam_method='transcam',
    bnr=False,
    test_sizes=(256, 512, 768),
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=20,
        # images are loaded as RGB with PIL (mmwsss.LoadImageRGB)
        mean=mean_rgb,
        std=[58.395, 57.12, 57.375],
        to_rgb=False,
        to_onehot=True),
    backbone=dict(
        type='mmwsss.AttnConformer',
        arch='small',
        drop_path_rate=0.1,
        # the reference trains every BatchNorm
        norm_eval=False,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmclassification/v0/'
            'conformer/conformer-small-p16_3rdparty_8xb128_in1k_20211206-'
            '3065dcf5.pth',
            prefix='backbone')))

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.RandomLongSideResize', long_side_range=(320, 640)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # torchvision's jitter on RGB, as the reference (mmpretrain's assumes
    # BGR and overflows on negative hue shifts under numpy 2)
    dict(
        type='mmwsss.ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    # the reference pads with 0 after normalisation, i.e. the mean colour
    dict(type='mmwsss.RandomCropPad', crop_size=512, pad_val=mean_rgb),
    dict(type='mmwsss.PackCAMInputs'),
]
# The classifier resizes the original image to the squares of test_sizes.
cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=20),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, )),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(pipeline=cam_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-5, weight_decay=5e-4, eps=1e-8))
# no learning-rate schedule, as the reference
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict(type='mmwsss.ResumableTestLoop')
auto_scale_lr = dict(base_batch_size=8)
