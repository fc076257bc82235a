# SPG on CUB-200-2011, wsolevaluation protocol: the model of
# ../_base_/models/spg_r50-os8_wsol.py with 200 classes and the protocol's
# ResNet-50 CUB schedule (batch 32, 50 epochs, x0.1 every 15) and lr.
_base_ = [
    '../_base_/models/spg_r50-os8_wsol.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/schedules/wsolevaluation_r50_cub.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=200), head=dict(num_classes=200))
# wsolevaluation puts only layer4 and `fc` of ResNet-50 at 10x: the new
# layers of this head keep the base lr.
optim_wrapper = dict(
    optimizer=dict(lr=4.521947e-5),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.0)}))
