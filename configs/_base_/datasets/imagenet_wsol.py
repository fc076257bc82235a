# ILSVRC 2012 for WSOL: the 1.28 M training images with their class labels
# (mmpretrain's ImageNet dataset), the 50 000 validation images with boxes
# (mmwsss.ImageNetWSOLDataset). Transforms as wsolevaluation and MoANA: train
# Resize((256, 256)) -> random 224 crop -> flip; test Resize((224, 224)).
# Expected layout (data_root):
#   train/<wnid>/*.JPEG            (or train/ + meta/train.txt)
#   val/*.JPEG                     (flat, ILSVRC2012_val_00000001.JPEG ...)
#   val_bbox/*.xml                 (ILSVRC2012_bbox_val_v3.tgz, one per image)
#   LOC_synset_mapping.txt         (wnid order = labels 0..999)
data_root = 'data/imagenet'
num_classes = 1000

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

# Per GPU: 32 images at output stride 8 keep about 6 GiB of activations for
# the backward (configs/moana/README.md); recipes with a larger batch spread
# it over GPUs ({N}xb32 in the config's name).
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='mmpretrain.ImageNet',
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='mmwsss.ImageNetWSOLDataset',
        data_root=data_root,
        synset_file='LOC_synset_mapping.txt',
        data_prefix=dict(img_path='val', ann_path='val_bbox'),
        pipeline=test_pipeline))
val_evaluator = dict(type='mmwsss.WSOLMetric', cam_curve_interval=0.01)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
