# InceptionV3 CAM of the WSOL protocol on SynthVOC's WSOL set (10 classes,
# masks for PxAP), from scratch: the full-width WSOL InceptionV3 with
# large_feature_map (14 x 14 maps at 112) and a 256-wide tail, on the data
# and recipe of cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py.
_base_ = './cam_vgg16bnw16-os16_1xb16-40e_synthvoc-wsol-112.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='mmwsss.WSOLInceptionV3',
        large_feature_map=True,
        tail_channels=256),
    head=dict(
        init_cfg=dict(
            _delete_=True,
            type='Xavier',
            layer='Conv2d',
            distribution='uniform')))
