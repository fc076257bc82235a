# CPU-sized ACoL on SynthVOC's `wsol/` set: the SynthVOC CAM baseline
# (../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py) with ACoL's two
# classifiers (width 256) and wsolevaluation's default threshold 0.7.
_base_ = ['../moana/cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py']

model = dict(
    head=dict(
        _delete_=True,
        type='mmwsss.ACoLHead',
        num_classes=10,
        in_channels=256,
        hidden_channels=256,
        drop_threshold=0.7,
        loss=dict(type='mmpretrain.CrossEntropyLoss'),
        init_cfg=dict(type='Kaiming', layer='Conv2d', mode='fan_out')))
