# CPU-sized WSOL CAM baseline on SynthVOC's `wsol/` set (10 classes, one
# object per image, masks for PxAP): a half-width ResNet-18 (base 32 channels)
# from scratch (no pretrained weights offline) with layer3/layer4 at stride 1
# as the MoANA ResNet-50 (output stride 8: 14 x 14 maps at 112) and its head
# (../_base_/models/cam_r50-os8_wsol.py: 1x1 conv with bias, softmax
# cross-entropy), crop 112, batch 16.
# From scratch it needs momentum and a larger lr than the fine-tuning recipes:
# the SGD / poly settings of the SynthVOC CAM classifier.
_base_ = [
    '../_base_/models/cam_r50-os8_wsol.py',
    '../_base_/datasets/synthvoc_wsol.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=10),
    backbone=dict(
        depth=18,
        base_channels=32,
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d']),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
        ]),
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
