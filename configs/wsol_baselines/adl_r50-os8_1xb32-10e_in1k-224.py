# ADL on ILSVRC, wsolevaluation protocol: the model of
# ../_base_/models/adl_r50-os8_wsol.py and the protocol's ResNet-50 ILSVRC
# schedule (batch 32, 10 epochs, x0.1 every 3); lr and method values are
# the CUB ones (no ILSVRC search available, see README.md).
_base_ = [
    '../_base_/models/adl_r50-os8_wsol.py',
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/schedules/wsolevaluation_r50_in1k.py',
    '../_base_/default_runtime_cls.py',
]

train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=1.253438325e-2))
