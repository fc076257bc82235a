# SPG on ILSVRC, wsolevaluation protocol: the model of
# ../_base_/models/spg_r50-os8_wsol.py and the protocol's ResNet-50 ILSVRC
# schedule (batch 32, 10 epochs, x0.1 every 3); lr and method values are
# the CUB ones (no ILSVRC search available, see README.md).
_base_ = [
    '../_base_/models/spg_r50-os8_wsol.py',
    '../_base_/datasets/imagenet_wsol.py',
    '../_base_/schedules/wsolevaluation_r50_in1k.py',
    '../_base_/default_runtime_cls.py',
]

train_dataloader = dict(batch_size=32)
# wsolevaluation puts only layer4 and `fc` of ResNet-50 at 10x: the new
# layers of this head keep the base lr.
optim_wrapper = dict(
    optimizer=dict(lr=4.521947e-5),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=1.0)}))
