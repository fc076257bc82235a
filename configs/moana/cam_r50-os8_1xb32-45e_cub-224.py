# CAM baseline of MoANA on CUB-200-2011 (MoANA Tables 1-2, "CAM, ResNet-50").
# Model of the official MoANA code without its attention module: torchvision
# ImageNet ResNet-50 (v1.5) whose layer3 and layer4 keep stride 1 (output
# stride 8: 28 x 28 maps at 224), a 1x1 conv classifier with bias on the last
# map (kaiming-normal fan-out, as the official init), logits = its spatial
# mean, softmax cross-entropy. The CAM of a class is the classifier's map.
# Schedule of MoANA on CUB: batch 32, 45 epochs, SGD lr 0.01, x0.1 every 10
# epochs; momentum 0.9 and weight decay 5e-4 are the paper's ILSVRC values
# (the paper gives none for CUB).
# Train: python tools/train.py configs/moana/cam_r50-os8_1xb32-45e_cub-224.py
# Test:  python tools/test.py  configs/moana/cam_r50-os8_1xb32-45e_cub-224.py CKPT
_base_ = [
    '../_base_/datasets/cub_wsol.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.WSOLClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=200,
        # images are loaded as RGB with PIL (mmwsss.LoadImageRGB)
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
        num_classes=200,
        in_channels=2048,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out')))

max_epochs = 45
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[10, 20, 30, 40], gamma=0.1)
# MoANA keeps the last epoch (no model selection): evaluate once at the end.
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
