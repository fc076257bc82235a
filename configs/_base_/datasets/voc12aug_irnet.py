# IRNet training data (IRN VOC12AffinityDataset): train_aug images with their
# IR labels; random rescale 0.5-1.5 (image bicubic, label nearest), flip,
# random 512 crop (image padded with the mean colour, label with 255), label
# reduced to the 128 x 128 stride-4 grid (PIL nearest). After training, the
# displacement mean is estimated on top-left 512 crops of VOC train
# (batch 32, drop_last), as the reference.
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
ir_label_dir = 'work_dirs/ir-label_r50-os16_voc12aug/ir_labels'
mean_rgb = [123.675, 116.28, 103.53]

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.RandomRescale', scale_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=512,
        pad_val=mean_rgb,
        seg_pad_val=255),
    dict(type='mmwsss.DownsampleLabel', scale=0.25),
    dict(type='mmwsss.PackCAMInputs'),
]
mean_shift_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.TopLeftCropPad', crop_size=512, pad_val=mean_rgb),
    dict(type='mmwsss.PackCAMInputs'),
]

train_dataloader = dict(
    batch_size=32,
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
custom_hooks = [
    dict(
        type='mmwsss.DisplacementMeanShiftHook',
        dataloader=dict(
            batch_size=32,
            num_workers=8,
            drop_last=True,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dict(
                type='mmwsss.VOCWSSSDataset',
                data_root=data_root,
                ann_file='ImageSets/Segmentation/train.txt',
                data_prefix=dict(
                    img_path='JPEGImages', ann_path='Annotations'),
                label_source='xml',
                pipeline=mean_shift_pipeline)))
]
