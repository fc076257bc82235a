# MS COCO 2014 (80 classes) with image-level labels for the CAM stage, as
# RIB's COCO scripts (jbeomlee93/RIB run_sample_coco.py): train on train2014
# (82,081 images with instances), CAMs of all of train2014 for the IRN
# stages. Expected layout (data_root) as distributed plus the output of
# tools/dataset_converters/coco14_wsss.py:
#   train2014/, val2014/, annotations/instances_{train,val}2014.json,
#   SegmentationClass/{train2014,val2014}/ (81 classes, crowd 255),
#   ImageSets/{train2014,val2014}.txt, meta.json
# Image-level labels are the classes of the converted label maps (crowd
# regions excluded), as the references' cls_labels_coco.npy.
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/coco2014'
num_classes = 80
mean_rgb = [123.675, 116.28, 103.53]

# IRN's classification augmentation, as on VOC
train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.RandomLongSideResize', long_side_range=(320, 640)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.RandomCropPad', crop_size=512, pad_val=mean_rgb),
    dict(type='mmwsss.PackCAMInputs'),
]
val_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.PackCAMInputs'),
]
cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5, 1.5, 2.0)),
    dict(type='mmwsss.PackCAMInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014'),
        label_source='seg',
        pipeline=train_pipeline))
# Classification mAP on val2014 (40,137 images: validate sparingly).
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        label_source='seg',
        pipeline=val_pipeline))
val_evaluator = [
    dict(type='mmpretrain.AveragePrecision'),
    dict(type='mmpretrain.MultiLabelMetric', thr=0.5),
]

# CAMs of train2014 (the IRNet stage needs them all), scored against the
# converted train2014 masks (the papers' COCO seed protocol; RIB sweeps the
# background threshold over 0.10..0.50, inside the metric's 0.01..0.99).
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014'),
        label_source='seg',
        pipeline=cam_pipeline))
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
