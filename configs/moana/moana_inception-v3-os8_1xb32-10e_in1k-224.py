# MoANA (WSOL module: residual calibration, Eq. 10) on the InceptionV3 CAM of
# the WSOL protocol: ../cam/cam_inception-v3-os8_1xb32-10e_in1k-224.py plus
# the module on the 1024-channel tail map, trained at the new-layer lr (10x)
# as the tail and the classifier. MoANA reports no InceptionV3 numbers;
# compare with the CAM config (same data, schedule and standard protocol).
_base_ = '../cam/cam_inception-v3-os8_1xb32-10e_in1k-224.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=1024, calibration='residual'))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'neck': dict(lr_mult=10.0)}))
