# IRNet training data on COCO 2014 train2014 with its IR labels, as RIB's
# train_irn_coco.py: IRN's augmentation (random rescale 0.5-1.5, flip,
# random 512 crop padded with the mean colour / 255, label reduced to the
# 128 x 128 stride-4 grid); the displacement mean is estimated on top-left
# 512 crops of train2014 (the reference's infer list; batch 32, drop_last).
data_root = 'data/coco2014'
num_classes = 80
ir_label_dir = 'work_dirs/ir-label_r50-os16_coco14/ir_labels'
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
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(img_path='train2014'),
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
                ann_file='ImageSets/train2014.txt',
                data_prefix=dict(
                    img_path='train2014',
                    seg_map_path='SegmentationClass/train2014'),
                label_source='seg',
                pipeline=mean_shift_pipeline)))
]
