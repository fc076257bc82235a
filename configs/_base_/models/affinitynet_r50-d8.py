# AffinityNet (PSA): an ImageNet ResNet-50 at output stride 8 (strides
# 1, 2, 1, 1 with dilations 1, 1, 2, 4; PSA uses ResNet-38, not available in
# mmpretrain), its stages 2-4 as the taps of the affinity head (1x1 convs to
# 64 / 128 / 256, ELU, concatenated, 1x1 448 -> 448, ELU). The backbone is
# trained, with the stem and stage 1 frozen and BatchNorm statistics fixed
# (PSA freezes conv1a / b2 and every BatchNorm). Pairs: half disc of
# radius 5 on the stride-8 grid.
model = dict(
    type='mmwsss.AffinityNet',
    # images are loaded as RGB with PIL (mmwsss.LoadImageRGB)
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]),
    backbone=dict(
        type='ResNet',
        depth=50,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        out_indices=(1, 2, 3),
        frozen_stages=1,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    in_channels=(512, 1024, 2048),
    tap_channels=(64, 128, 256),
    radius=5,
    stride=8)
