# MoANA in the IRN CAM classifier for WSSS seeds on VOC 2012 (MoANA Table 3,
# "CAM" column). The IRN recipe of ../cam/cam_r50-os16_1xb16-5e_voc12aug-512.py
# plus the official WSSS module on the last map: X_hat = X * (0.35 + 0.65 M)
# ('affine' calibration). The module trains at the backbone lr, as in the
# official code. Differences to the official code: the classifier keeps IRN's
# bias-free head, and the module's BatchNorms use running statistics at CAM
# inference (the official code leaves them in training mode).
# The paper trains 8000 iterations (about 12 epochs at batch 16); the official
# code runs IRN's 5 epochs, kept here.
# Train: python tools/train.py configs/moana/moana_r50-os16_1xb16-5e_voc12aug-512.py
# CAMs:  python tools/test.py  configs/moana/moana_r50-os16_1xb16-5e_voc12aug-512.py CKPT
_base_ = '../cam/cam_r50-os16_1xb16-5e_voc12aug-512.py'

model = dict(
    neck=dict(type='mmwsss.MoANA', in_channels=2048, calibration='affine'))
