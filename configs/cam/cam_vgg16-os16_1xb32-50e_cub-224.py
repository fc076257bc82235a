# CAM with VGG16-GAP on CUB-200-2011 under the WSOL protocol of
# wsolevaluation (Choe et al., CVPR 2020 / TPAMI): ImageNet VGG16 without its
# last pool + conv6, GAP, 1x1 classifier (../_base_/models/
# cam_vgg16-gap_wsol.py); resize 256 -> random 224 crop -> flip, test 224.
# Schedule of wsolevaluation's tuned CAM / VGG16 / CUB run: batch 32,
# 50 epochs, SGD (Nesterov, momentum 0.9) lr 1.268e-5, weight decay 5e-4,
# x0.1 every 15 epochs, conv6 and the classifier at 10x. The lr and weight
# decay come from the paper's hyper-parameter search (its spreadsheet; the
# value used in scripts that copy it), not from a table we could check here.
# Evaluation: the standard protocol (min-max maps, MaxBoxAccV2 at IoU
# 30/50/70 with all contours, MaxBoxAcc, tau every 0.01 as its CLI).
# Train: python tools/train.py configs/cam/cam_vgg16-os16_1xb32-50e_cub-224.py
_base_ = [
    '../_base_/models/cam_vgg16-gap_wsol.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/schedules/wsol_sgd_step.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=200), head=dict(num_classes=200))

max_epochs = 50
optim_wrapper = dict(
    optimizer=dict(lr=1.268e-5, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone.conv6': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(step_size=15)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
