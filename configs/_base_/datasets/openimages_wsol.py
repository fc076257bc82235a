# OpenImages30k of wsolevaluation (100 classes) for WSOL with PxAP: image
# labels to train (train, 29 819 images), instance masks (and ignore masks)
# to validate (val, 2 500) and test (test, 5 000), all through the
# wsolevaluation metadata (mmwsss.WSOLMetadataDataset). Transforms of
# wsolevaluation: train Resize((256, 256)) -> random 224 crop -> flip; test
# Resize((224, 224)), masks resized (nearest) to the 224 x 224 score map.
# Expected layout (data_root):
#   OpenImages/{train,val,test}/<class>/*.jpg (+ *_ignore.png, *_m*.png masks)
#   metadata/OpenImages/{train,val,test}/ (wsolevaluation's metadata folder:
#   image_ids.txt, class_labels.txt, localization.txt)
dataset_type = 'mmwsss.WSOLMetadataDataset'
data_root = 'data/wsolevaluation'
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
    dict(type='mmwsss.LoadWSOLMask', size=(224, 224)),
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
        ann_file='metadata/OpenImages/train',
        data_prefix=dict(img_path='OpenImages', mask_path='OpenImages'),
        pipeline=train_pipeline))
# the `train-fullsup` split of the protocol: choose hyper-parameters here
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='metadata/OpenImages/val',
        data_prefix=dict(img_path='OpenImages', mask_path='OpenImages'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='metadata/OpenImages/test',
        data_prefix=dict(img_path='OpenImages', mask_path='OpenImages'),
        pipeline=test_pipeline))
# PxAP on the 0.001 grid of wsolevaluation's training script
val_evaluator = dict(type='mmwsss.WSOLMetric', cam_curve_interval=0.001)
test_evaluator = val_evaluator
