# CPU-sized SPG on SynthVOC's `wsol/` set: the SynthVOC CAM baseline
# (../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py) with SPG's side
# branches on layer3 (128 channels: B1 after its first block, B2 after the
# stage), branch C (64) on layer4 and wsolevaluation's default thresholds.
_base_ = ['../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsss.FeatureTapBackbone',
        backbone=dict(
            type='ResNet',
            depth=18,
            base_channels=32,
            strides=(1, 2, 1, 1),
            out_indices=(2, 3),
            style='pytorch',
            init_cfg=[
                dict(type='Kaiming', layer=['Conv2d']),
                dict(
                    type='Constant',
                    val=1,
                    layer=['_BatchNorm', 'GroupNorm'])
            ]),
        tap_after=('layer3.0', )),
    head=dict(
        _delete_=True,
        type='mmwsss.SPGHead',
        num_classes=10,
        in_channels=256,
        side_in_channels=(128, 128),
        side_channels=128,
        c_channels=64,
        thresholds=((0.7, 0.01), (0.5, 0.05), (0.7, 0.1)),
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')))
