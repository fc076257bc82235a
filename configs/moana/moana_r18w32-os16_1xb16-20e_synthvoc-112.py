# MoANA in the CPU-sized SynthVOC CAM classifier: the recipe of
# ../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (half-width ResNet-18 from
# scratch, output stride 16, crop 112, batch 16, 20 epochs) plus the official
# WSSS module (affine calibration 0.35 + 0.65 M) on its 256-channel map.
_base_ = '../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=256, calibration='affine'))
