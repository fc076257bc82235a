# AffinityNet training data (PSA VOC12AffDataset): train_aug images with
# their la/ha labels; colour jitter, random 448 crop (image padded with the
# mean colour, i.e. 0 after normalisation, label with 255), flip, label
# reduced to the 56 x 56 stride-8 grid (PIL nearest; PSA averages the la/ha
# scores over 8 x 8 blocks before combining them, see configs/psa/README.md).
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
ir_label_dir = 'work_dirs/psa-label_r50-os16_voc12aug/psa_labels'
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
        crop_size=448,
        pad_val=mean_rgb,
        seg_pad_val=255),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.DownsampleLabel', scale=1 / 8),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='mmwsss.IRLabelDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        ir_label_dir=ir_label_dir,
        pipeline=train_pipeline))
