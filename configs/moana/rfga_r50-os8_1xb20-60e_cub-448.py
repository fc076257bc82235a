# RFGA (the conference version of MoANA) on CUB-200-2011, RFGA Table 1
# "RFGA w/ R": M = sigmoid(z_c + z_h + z_w) (RFGA Eq. 7), X_hat = X + X * M
# (Eq. 8, residual). RFGA §4.2: resize 600 x 600, random 448 crop, flip; test
# 448 x 448; 60 epochs, batch 20, SGD lr 0.01 x0.1 every 15 epochs, momentum
# 0.9. The paper gives no weight decay and no backbone strides; both are
# MoANA's (5e-4, output stride 8: 56 x 56 maps at 448).
# Evaluation: RFGA's metrics (WSOLMetric protocol='rfga'): largest-contour
# MaxBoxAcc at IoU 50, 60, 70, 80, 90 (MaxBoxAcc_IoU{50..90}), their mean
# (MaxBoxAccRFGA) and mIoU, on min-max normalised maps with tau every 0.01.
_base_ = './moana_r50-os8_1xb32-45e_cub-224.py'

model = dict(
    neck=dict(sigmoid_after_sum=True, calibration='residual'),
    cam_percentile=None)

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(600, 600)),
    dict(type='RandomCrop', crop_size=448),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.PackCAMInputs'),
]
test_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(448, 448)),
    dict(type='mmwsss.PackWSOLInputs'),
]
train_dataloader = dict(batch_size=20, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=20, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='mmwsss.WSOLMetric', cam_curve_interval=0.01, protocol='rfga')
test_evaluator = val_evaluator

max_epochs = 60
param_scheduler = dict(milestones=[15, 30, 45])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
auto_scale_lr = dict(base_batch_size=20)
