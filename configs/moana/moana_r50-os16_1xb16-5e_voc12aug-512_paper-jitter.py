# MoANA WSSS with the paper's augmentation: the MoANA paper (Sci. Rep. 2023,
# "Experimental settings") lists colour jittering next to IRN's flip and
# random crop, which the official code (IRN's train_cam) does not apply and
# the base config follows. The paper gives no jitter strengths; these are
# the torchvision ColorJitter(0.3, 0.3, 0.3, 0.1) of PSA and TransCAM, the
# IRN-family codes that jitter colours.
_base_ = './moana_r50-os16_1xb16-5e_voc12aug-512.py'

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.RandomLongSideResize', long_side_range=(320, 640)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmwsss.ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=512,
        pad_val={{_base_.mean_rgb}}),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
