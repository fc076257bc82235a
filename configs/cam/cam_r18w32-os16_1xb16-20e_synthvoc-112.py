# CPU-sized CAM classifier on SynthVOC: a half-width ResNet-18 (base 32
# channels) from scratch (no pretrained weights offline), output stride 16,
# crop 112, batch 16.
# Same model family, head, loss and inference as the VOC config; SGD with
# momentum 0.9 because training from scratch needs it.
_base_ = [
    '../_base_/models/cam_r50-os16.py',
    '../_base_/datasets/synthvoc_cam.py',
    '../_base_/schedules/cam_poly_5e.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=6),
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
    head=dict(num_classes=6, in_channels=256))

max_epochs = 20
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=5, max_keep_ckpts=1))
randomness = dict(seed=0)
