# FGVC-Aircraft (fgvc-aircraft-2013b) for WSOL: 100 variants, image labels to
# train (trainval, 6 667 images), boxes to test (test, 3 333 images). Boxes
# as shipped (1-based inclusive corners); the images keep their copyright
# banner. Transforms of the CUB recipe: train Resize((256, 256)) -> random
# 224 crop -> flip; test Resize((224, 224)).
# Expected layout (data_root, the archive's `data` folder): images/*.jpg,
# images_box.txt, images_variant_{trainval,test}.txt, variants.txt.
dataset_type = 'mmwsss.FGVCAircraftWSOLDataset'
data_root = 'data/fgvc-aircraft-2013b/data'
num_classes = 100

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(256, 256)),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.PackCAMInputs'),
]
test_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(224, 224)),
    dict(type='mmwsss.PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='trainval',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
val_evaluator = dict(type='mmwsss.WSOLMetric', cam_curve_interval=0.01)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
