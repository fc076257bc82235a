# CPU-sized ADL on SynthVOC's `wsol/` set: the SynthVOC CAM baseline
# (../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py) with ADL after
# the first block of layer3 and after both blocks of layer4 (ResNet-18's
# layer4 has two), wsolevaluation's defaults (drop rate 0.75, gamma 0.9).
_base_ = ['../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsss.ADLBackbone',
        backbone=dict(
            type='ResNet',
            depth=18,
            base_channels=32,
            strides=(1, 2, 1, 1),
            out_indices=(3, ),
            style='pytorch',
            init_cfg=[
                dict(type='Kaiming', layer=['Conv2d']),
                dict(
                    type='Constant',
                    val=1,
                    layer=['_BatchNorm', 'GroupNorm'])
            ]),
        adl_after=('layer3.0', 'layer4.0', 'layer4.1'),
        drop_rate=0.75,
        drop_threshold=0.9))
