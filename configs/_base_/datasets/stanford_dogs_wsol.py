# Stanford Dogs for WSOL: 120 breeds, image labels to train (12 000 images),
# boxes to test (8 580 images; every dog of an image is a GT box, as in the
# XMLs). Transforms of the CUB recipe: train Resize((256, 256)) -> random 224
# crop -> flip; test Resize((224, 224)).
# Expected layout (data_root): Images/<wnid>-<breed>/*.jpg,
# Annotation/<wnid>-<breed>/<stem> (XML), {train,test}_list.mat (lists.tar,
# here or in lists/).
dataset_type = 'mmwsss.StanfordDogsWSOLDataset'
data_root = 'data/StanfordDogs'
num_classes = 120

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
        split='train',
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
