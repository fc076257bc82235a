# MoANA (WSOL module: residual calibration, Eq. 10) in the CPU-sized SynthVOC
# WSOL model of cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py.
_base_ = './cam_r18w32-os8_1xb16-40e_synthvoc-wsol-112.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=256, calibration='residual'))
