# MoANA (WSOL module: residual calibration, Eq. 10) on the VGG16-GAP CAM of
# the WSOL protocol: ../cam/cam_vgg16-os16_1xb32-10e_in1k-224.py plus the
# module on the 1024-channel conv6 map, trained at the new-layer lr (10x) as
# conv6 and the classifier. MoANA reports no VGG16 numbers; compare with the
# CAM config, which has the same data, schedule and (standard) protocol.
_base_ = '../cam/cam_vgg16-os16_1xb32-10e_in1k-224.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=1024, calibration='residual'))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'neck': dict(lr_mult=10.0)}))
