# SynthVOC AffinityNet training data: the VOC recipe with crop 128 (16 x 16
# label grid) for the 96-192 px images.
_base_ = ['./voc12aug_affinitynet.py']

data_root = 'data/synthvoc'
num_classes = 6
ir_label_dir = 'work_dirs/psa-label_r18w32-os16_synthvoc/psa_labels'
mean_rgb = [123.675, 116.28, 103.53]

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    # PSA's torchvision ColorJitter, on the RGB image
    dict(
        type='mmwsss.ColorJitter',
        brightness=0.3,
        contrast=0.3,
        saturation=0.3,
        hue=0.1),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=128,
        pad_val=mean_rgb,
        seg_pad_val=255),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.DownsampleLabel', scale=1 / 8),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        ir_label_dir=ir_label_dir,
        pipeline=train_pipeline))
