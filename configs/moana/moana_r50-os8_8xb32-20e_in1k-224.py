# MoANA on ILSVRC (MoANA Tables 1-2): the CAM baseline plus the MoANA module
# (residual calibration, Eq. 10); the module trains at the new-layer lr 0.02.
_base_ = './cam_r50-os8_8xb32-20e_in1k-224.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=2048,
              calibration='residual'))
