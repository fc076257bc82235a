# Single-label CAM classifier for WSOL, MoANA's baseline (the official MoANA
# model without its attention module): torchvision ImageNet ResNet-50 (v1.5)
# whose layer3 and layer4 keep stride 1 (output stride 8: 28 x 28 maps at
# 224), a 1x1 conv classifier with bias on the last map (kaiming-normal
# fan-out, as the official init), logits = its spatial mean, softmax
# cross-entropy. The CAM of a class is the classifier's map. 1000 classes
# (ILSVRC): set `num_classes` of `data_preprocessor` and `head` for others.
model = dict(
    type='mmwsss.WSOLClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=1000,
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
        num_classes=1000,
        in_channels=2048,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out')))
