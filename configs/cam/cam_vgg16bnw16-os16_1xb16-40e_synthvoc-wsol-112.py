# CPU-sized VGG16-GAP CAM on SynthVOC's WSOL set (10 classes, masks for
# PxAP): mmwsss.WSOLVGG at a quarter of the width (stages 16..128, conv6
# 256) with BatchNorm (VGG16-BN: from scratch, the plain VGG16 stayed at
# chance level in 40 epochs here), 7 x 7 maps at 112; the SynthVOC WSOL data
# and from-scratch SGD / poly recipe of
# ../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py.
_base_ = [
    '../_base_/models/cam_vgg16-gap_wsol.py',
    '../_base_/datasets/synthvoc_wsol.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=10),
    backbone=dict(
        stage_channels=(16, 32, 64, 128, 128),
        conv6_channels=256,
        norm_cfg=dict(type='BN'),
        init_cfg=[dict(type='Kaiming', layer='Conv2d')]),
    head=dict(num_classes=10, in_channels=256))

max_epochs = 40
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='PolyLR',
    power=0.9,
    eta_min=0.0,
    by_epoch=True,
    begin=0,
    end=max_epochs,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
