# CAM with InceptionV3 on CUB-200-2011 under the WSOL protocol of
# wsolevaluation: the WSOL InceptionV3 with large_feature_map (28 x 28 maps
# at 224) and its SPG_A3 tail (../_base_/models/cam_inception-v3_wsol.py).
# Schedule of wsolevaluation's tuned CAM / InceptionV3 / CUB run: batch 32,
# 50 epochs, SGD (Nesterov, momentum 0.9) lr 2.248e-3, weight decay 5e-4,
# x0.1 every 15 epochs; the layers that are not Inception blocks (the tail
# and the classifier) at 10x. lr and weight decay: see the VGG16 config.
_base_ = [
    '../_base_/models/cam_inception-v3_wsol.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/schedules/wsol_sgd_step.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=200), head=dict(num_classes=200))

max_epochs = 50
optim_wrapper = dict(
    optimizer=dict(lr=2.248e-3, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone.SPG_A3': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(step_size=15)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
