# SynthVOC IRNet training data: the VOC recipe with crop 128 (32 x 32 label
# grid) for the 96-192 px images.
_base_ = ['./voc12aug_irnet.py']

data_root = 'data/synthvoc'
num_classes = 6
ir_label_dir = 'work_dirs/ir-label_r18w32-os16_synthvoc/ir_labels'
mean_rgb = [123.675, 116.28, 103.53]

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.RandomRescale', scale_range=(0.5, 1.5)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='mmwsss.RandomCropPad',
        crop_size=128,
        pad_val=mean_rgb,
        seg_pad_val=255),
    dict(type='mmwsss.DownsampleLabel', scale=0.25),
    dict(type='mmwsss.PackCAMInputs'),
]
mean_shift_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.TopLeftCropPad', crop_size=128, pad_val=mean_rgb),
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
# A list replaces the base's entirely: the hook's loader is spelt out.
custom_hooks = [
    dict(
        type='mmwsss.DisplacementMeanShiftHook',
        dataloader=dict(
            batch_size=16,
            num_workers=2,
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
