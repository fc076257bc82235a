# ACoL (Zhang et al., CVPR 2018) (wsolevaluation), model: ResNet-50
# (layer3/layer4 at stride 1) with two classifiers (conv3x3 1024, conv3x3
# 1024, conv1x1, He init as the reference); the second sees layer4's map
# with the region where the first's normalised map of the label is >= 0.57
# erased. Loss: the sum of both cross-entropies. CAM: max of the two
# normalised maps (mmwsss.ACoLHead).
# Method values: the protocol's ResNet-50 CUB search (see
# configs/wsol_baselines/README.md).
_base_ = ['./cam_r50-os8_wsol.py']

model = dict(
    head=dict(
        _delete_=True,
        type='mmwsss.ACoLHead',
        num_classes=1000,
        in_channels=2048,
        hidden_channels=1024,
        drop_threshold=0.57,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out')))
