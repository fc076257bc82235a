# SynthVOC's WSOL set (`wsol/`: one object per image, CUB layout, 10 classes
# and object masks by default), sized for CPU: train Resize((128, 128)) ->
# random 112 crop -> flip; test Resize((112, 112)), score maps and PxAP masks
# at 112 x 112 (the CUB recipe scaled by 1/2).
# Generate it with:
#   python tools/dataset_converters/generate_synthetic_voc.py data/synthvoc
dataset_type = 'mmwsss.CUBWSOLDataset'
data_root = 'data/synthvoc/wsol'
num_classes = 10
crop_size = 112

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(128, 128)),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.PackCAMInputs'),
]
test_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(crop_size, crop_size)),
    dict(type='mmwsss.LoadWSOLMask', size=(crop_size, crop_size)),
    dict(type='mmwsss.PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        mask_dir='masks',
        pipeline=test_pipeline))
val_evaluator = dict(type='mmwsss.WSOLMetric', cam_curve_interval=0.01)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
