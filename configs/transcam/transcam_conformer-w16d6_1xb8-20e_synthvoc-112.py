# CPU-sized TransCAM on SynthVOC: a small Conformer (6 layers, embedding 96,
# 3 heads, CNN base 16 channels) from scratch (no pretrained weights
# offline), crop 112 (7x7 tokens), batch 8, 20 epochs, AdamW with weight
# decay 5e-4 and no schedule as the reference, but lr 5e-4 because training
# from scratch needs it. CAMs from square resizes at 0.5/1/1.5 x the crop,
# as the reference's 256/512/768 for crop 512.
_base_ = [
    '../_base_/datasets/synthvoc_cam.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.TransCAMClassifier',
    num_classes=6,
    cam_method='transcam',
    bnr=False,
    test_sizes=(56, 112, 168),
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=6,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=False,
        to_onehot=True),
    backbone=dict(
        type='mmwsss.AttnConformer',
        arch=dict(embed_dims=96, depths=6, num_heads=3, channel_ratio=1),
        base_channels=16,
        drop_path_rate=0.1,
        norm_eval=False))

cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=6),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, )),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(batch_size=8)
test_dataloader = dict(dataset=dict(pipeline=cam_pipeline))

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, weight_decay=5e-4, eps=1e-8))
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=5)
val_cfg = dict()
test_cfg = dict(type='mmwsss.ResumableTestLoop')
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=5, max_keep_ckpts=1))
randomness = dict(seed=0)
