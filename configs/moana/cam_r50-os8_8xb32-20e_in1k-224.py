# CAM baseline of MoANA on ILSVRC (MoANA Tables 1-2, "CAM, ResNet-50"): the
# model of the official MoANA code without its attention module
# (../_base_/models/cam_r50-os8_wsol.py).
# Schedule of MoANA on ILSVRC: batch 256, 20 epochs, SGD momentum 0.9, weight
# decay 5e-4, lr 0.002 for the backbone and 0.02 for the new layers (neck and
# head), x0.1 every 5 epochs. The batch of 256 is 8 GPUs x 32: at output
# stride 8 (MoANA's, layer3 and layer4 at stride 1) one image keeps about
# 0.19 GiB of activations for the backward, 256 about 47 GiB (README.md).
# Fewer GPUs: --auto-scale-lr scales the lr to the total batch.
_base_ = [
    '../_base_/models/cam_r50-os8_wsol.py',
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/default_runtime_cls.py',
]

max_epochs = 20
train_dataloader = dict(batch_size=32)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'neck': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[5, 10, 15], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
# MoANA's evaluation (tester.py), for comparison with MoANA Tables 1-2: score
# maps normalised by their 65th percentile, Top-1 Loc at tau = 0.04, GT-known
# and Top-5 Loc at their best tau (see WSOLMetric, protocol='moana').
model = dict(cam_percentile=65)
val_evaluator = dict(
    type='mmwsss.WSOLMetric', cam_curve_interval=0.01, protocol='moana')
test_evaluator = val_evaluator
