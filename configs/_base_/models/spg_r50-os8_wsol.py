# SPG (Zhang et al., ECCV 2018) (wsolevaluation), model: ResNet-50
# (layer3/layer4 at stride 1) whose layer3 feeds two side branches (B1 after
# its first block, B2 after the whole stage; conv3x3 1024 each, then a
# shared conv3x3 1024 + conv1x1), a branch C on layer4 (conv3x3 512 +
# conv1x1) and the 1x1 class-map classifier. Besides the cross-entropy, B2,
# B1 and C learn masks made from the GT class map, from B2 and from the
# fused B1/B2 attention, at 224 x 224 (mmwsss.SPGHead; mmwsss.
# FeatureTapBackbone returns layer3.0's output). Xavier init as the
# reference. CAM: the raw class map.
# Method values: the protocol's ResNet-50 CUB search (see
# configs/wsol_baselines/README.md).
_base_ = ['./cam_r50-os8_wsol.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsss.FeatureTapBackbone',
        backbone=dict(
            type='ResNet',
            depth=50,
            strides=(1, 2, 1, 1),
            out_indices=(2, 3),
            style='pytorch',
            init_cfg=dict(
                type='Pretrained', checkpoint='torchvision://resnet50')),
        tap_after=('layer3.0', )),
    head=dict(
        _delete_=True,
        type='mmwsss.SPGHead',
        num_classes=1000,
        in_channels=2048,
        side_in_channels=(1024, 1024),
        side_channels=1024,
        c_channels=512,
        thresholds=((0.41, 0.35), (0.24, 0.21), (0.12, 0.08)),
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')))
