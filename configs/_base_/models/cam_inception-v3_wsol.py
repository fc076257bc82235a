# InceptionV3 CAM classifier of the WSOL protocol (wsolevaluation's
# InceptionCam, mmwsss.WSOLInceptionV3): mmpretrain's ImageNet InceptionV3
# blocks up to Mixed_6e with the WSOL stem and a stride-1 Mixed_6a, with
# `large_feature_map` (28 x 28 maps at 224, as wsolevaluation's tuned
# InceptionV3 runs), the SPG_A3 tail (two 3x3 convs, 1024 wide, dropout 0.5),
# and a 1x1 conv classifier with bias whose class map is the CAM
# (mmwsss.CAMHead), logits = its spatial mean. Init as the reference:
# xavier-uniform convs, BN 1 / 0; the ImageNet checkpoint then overwrites
# the Inception blocks. 1000 classes (ILSVRC).
model = dict(
    type='mmwsss.WSOLClassifier',
    data_preprocessor=dict(
        type='mmwsss.CAMDataPreprocessor',
        num_classes=1000,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=False),
    backbone=dict(
        type='mmwsss.WSOLInceptionV3',
        large_feature_map=True,
        tail_channels=1024,
        dropout=0.5,
        init_cfg=[
            dict(type='Xavier', layer='Conv2d', distribution='uniform'),
            dict(type='Constant', layer='BatchNorm2d', val=1),
            dict(
                type='Pretrained',
                checkpoint='https://download.openmmlab.com/mmclassification/'
                'v0/inception-v3/'
                'inception-v3_3rdparty_8xb32_in1k_20220615-dcd4d910.pth',
                prefix='backbone.')
        ]),
    head=dict(
        type='mmwsss.CAMHead',
        num_classes=1000,
        in_channels=1024,
        multi_label=False,
        bias=True,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')))
