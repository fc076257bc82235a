# CAM baseline of MoANA on CUB-200-2011 (MoANA Tables 1-2, "CAM, ResNet-50"):
# the model of the official MoANA code without its attention module
# (../_base_/models/cam_r50-os8_wsol.py) with 200 classes.
# Schedule of MoANA on CUB: batch 32, 45 epochs, SGD lr 0.01, x0.1 every 10
# epochs; momentum 0.9 and weight decay 5e-4 are the paper's ILSVRC values
# (the paper gives none for CUB).
# Train: python tools/train.py configs/moana/cam_r50-os8_1xb32-45e_cub-224.py
# Test:  python tools/test.py  configs/moana/cam_r50-os8_1xb32-45e_cub-224.py CKPT
_base_ = [
    '../_base_/models/cam_r50-os8_wsol.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=200),
    head=dict(num_classes=200),
    cam_percentile=65)

max_epochs = 45
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[10, 20, 30, 40], gamma=0.1)
# MoANA keeps the last epoch (no model selection): evaluate once at the end.
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
# MoANA's evaluation (tester.py), for comparison with MoANA Tables 1-2: score
# maps normalised by their 65th percentile, Top-1 Loc at tau = 0.04, GT-known
# and Top-5 Loc at their best tau (see WSOLMetric, protocol='moana').
val_evaluator = dict(
    type='mmwsss.WSOLMetric', cam_curve_interval=0.01, protocol='moana')
test_evaluator = val_evaluator
