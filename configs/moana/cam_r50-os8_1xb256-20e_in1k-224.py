# CAM baseline of MoANA on ILSVRC (MoANA Tables 1-2, "CAM, ResNet-50"): the
# model of cam_r50-os8_1xb32-45e_cub-224.py with 1000 classes.
# Schedule of MoANA on ILSVRC: batch 256, 20 epochs, SGD momentum 0.9, weight
# decay 5e-4, lr 0.002 for the backbone and 0.02 for the new layers (neck and
# head), x0.1 every 5 epochs.
_base_ = [
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.WSOLClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=False),
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 1, 1),
        out_indices=(3, ),
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    head=dict(
        type='mmwsss.CAMHead',
        num_classes=1000,
        in_channels=2048,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out')))

max_epochs = 20
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'neck': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[5, 10, 15], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
