# CAM with VGG16-GAP on OpenImages30k (wsolevaluation's WSOL benchmark with
# masks, 100 classes), evaluated by PxAP. Schedule of the example run in
# wsolevaluation's README (CAM / VGG16 / OpenImages): batch 32, 10 epochs,
# SGD (Nesterov, momentum 0.9) lr 2.279e-3, weight decay 5e-4, x0.1 every
# 3 epochs, conv6 and the classifier at 10x. Data read through the
# wsolevaluation metadata (../_base_/datasets/openimages_wsol.py); test on
# the test split (tools/test.py), choose hyper-parameters on val.
_base_ = [
    '../_base_/models/cam_vgg16-gap_wsol.py',
    '../_base_/datasets/openimages_wsol.py',
    '../_base_/schedules/wsol_sgd_step.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=100), head=dict(num_classes=100))

max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(lr=2.279e-3, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone.conv6': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(step_size=3)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
