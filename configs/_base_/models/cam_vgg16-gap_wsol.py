# VGG16-GAP CAM classifier of the WSOL protocol (wsolevaluation's VggCam):
# mmpretrain's ImageNet VGG16 without its last max pool (14 x 14 maps at 224),
# conv6 (3x3, 512 -> 1024) + ReLU (mmwsss.WSOLVGG), GAP and a linear
# classifier, here the equivalent 1x1 conv with bias (mmwsss.CAMHead; the
# CAM is its class map, which normalises like the reference's channel mean).
# Init as the reference: He (kaiming-normal, fan-out) convs, N(0, 0.01)
# classifier; the ImageNet checkpoint then overwrites the VGG16 convs.
# 1000 classes (ILSVRC): set `num_classes` of `data_preprocessor` and `head`
# for others.
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
        type='mmwsss.WSOLVGG',
        depth=16,
        large_feature_map=False,
        conv6_channels=1024,
        init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(
                type='Pretrained',
                checkpoint='https://download.openmmlab.com/mmclassification/'
                'v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth',
                prefix='backbone.')
        ]),
    head=dict(
        type='mmwsss.CAMHead',
        num_classes=1000,
        in_channels=1024,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.01)))
