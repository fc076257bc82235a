# SynthVOC (the bundled synthetic benchmark, VOC layout) for the CAM stage.
# Generate it with:
#   python tools/dataset_converters/generate_synthetic_voc.py data/synthvoc
_base_ = ['./voc12aug_cam.py']

data_root = 'data/synthvoc'
num_classes = 6
mean_rgb = [123.675, 116.28, 103.53]

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.RandomLongSideResize', long_side_range=(96, 192)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.RandomCropPad', crop_size=112, pad_val=mean_rgb),
    dict(type='mmwsss.PackCAMInputs'),
]
cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, 0.5, 1.5, 2.0)),
    dict(type='mmwsss.PackCAMInputs'),
]
_split = dict(
    img_path='JPEGImages',
    seg_map_path='SegmentationClass',
    ann_path='Annotations')
train_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=_split,
        label_source='xml',
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=_split))
# CAMs of the training images, scored against their ground-truth masks.
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=_split,
        label_source='xml',
        pipeline=cam_pipeline))
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
