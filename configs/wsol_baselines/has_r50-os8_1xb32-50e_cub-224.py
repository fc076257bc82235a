# Hide-and-Seek on CUB-200-2011, wsolevaluation protocol: the model of
# ../_base_/models/has_r50-os8_wsol.py with 200 classes and the protocol's
# ResNet-50 CUB schedule (batch 32, 50 epochs, x0.1 every 15) and lr.
_base_ = [
    '../_base_/models/has_r50-os8_wsol.py',
    '../_base_/datasets/cub_wsol.py',
    '../_base_/schedules/wsolevaluation_r50_cub.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=200), head=dict(num_classes=200))
optim_wrapper = dict(optimizer=dict(lr=3.61996526e-3))
