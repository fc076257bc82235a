# PASCAL VOC 2012 + SBD (train_aug, 10582 images) with image-level labels for
# the CAM stage. Expected layout (data_root), SegmentationClassAug/ and
# train_aug.txt made by tools/dataset_converters/voc_aug.py:
#   JPEGImages/, SegmentationClass/, SegmentationClassAug/, Annotations/,
#   ImageSets/Segmentation/{train,train_aug,val}.txt
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
mean_rgb = [123.675, 116.28, 103.53]

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    # long side ~ U{320..640}, PIL bicubic (IRN train_cam)
    dict(type='mmwsss.RandomLongSideResize', long_side_range=(320, 640)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # the reference pads with 0 after normalisation, i.e. the mean colour
    dict(type='mmwsss.RandomCropPad', crop_size=512, pad_val=mean_rgb),
    dict(type='mmwsss.PackCAMInputs'),
]
val_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.PackCAMInputs'),
]
# Multi-scale + flip CAM inference (IRN make_cam) with the seed ground truth.
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
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClassAug',
            ann_path='Annotations'),
        # labels from the XML annotations, as IRN's make_cls_labels.py;
        # label_source='seg' takes the classes of SegmentationClassAug
        label_source='xml',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
        label_source='xml',
        pipeline=val_pipeline))
val_evaluator = [
    dict(type='mmpretrain.AveragePrecision'),
    dict(type='mmpretrain.MultiLabelMetric', thr=0.5),
]

# CAMs of train_aug (the IRNet stage needs them all), scored against
# SegmentationClassAug. For the papers' protocol (seeds on VOC `train`, 1464
# images) run tools/analysis/eval_cam_seeds.py on the written CAMs with
# ann_file=ImageSets/Segmentation/train.txt.
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClassAug',
            ann_path='Annotations'),
        label_source='xml',
        pipeline=cam_pipeline))
# {work_dir}: the run's work dir (tools/test.py --work-dir, by default
# work_dirs/<config name>), where the next stages' configs look for the CAMs.
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
