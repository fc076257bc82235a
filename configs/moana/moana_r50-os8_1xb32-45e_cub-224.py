# MoANA on CUB-200-2011 (MoANA Tables 1-2): the CAM baseline plus the MoANA
# module on the last feature map, as the official code (layer4[3]): k = 3,
# z = sigmoid(BN(conv1d(pool))) per view, M = z_c + z_h + z_w (no sigmoid),
# X_hat = X + X * M (Eq. 10). Same data and schedule as the baseline.
# Train: python tools/train.py configs/moana/moana_r50-os8_1xb32-45e_cub-224.py
# Test:  python tools/test.py  configs/moana/moana_r50-os8_1xb32-45e_cub-224.py CKPT
_base_ = './cam_r50-os8_1xb32-45e_cub-224.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=2048,
              calibration='residual'))
