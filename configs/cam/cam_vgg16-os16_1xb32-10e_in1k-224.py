# CAM with VGG16-GAP on ILSVRC under the WSOL protocol of wsolevaluation
# (the model of cam_vgg16-os16_1xb32-50e_cub-224.py with 1000 classes).
# Schedule of wsolevaluation's tuned CAM / VGG16 / ILSVRC run: batch 32,
# 10 epochs, SGD (Nesterov, momentum 0.9) lr 1.655e-5, weight decay 5e-4,
# x0.1 every 3 epochs, conv6 and the classifier at 10x (lr and weight decay
# from the paper's hyper-parameter search, as copied by scripts that use it).
_base_ = [
    '../_base_/models/cam_vgg16-gap_wsol.py',
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/schedules/wsol_sgd_step.py',
    '../_base_/default_runtime_cls.py',
]

train_dataloader = dict(batch_size=32)

max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(lr=1.655e-5, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone.conv6': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(step_size=3)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
