# Schedule of BBAM's VOC 2012 detectors (configs/bbam), as the official
# maskrcnn-benchmark configs: iteration-based SGD (momentum 0.9, weight decay
# 1e-4), 500 linear warm-up iterations from 1/3, x0.1 steps. The numbers are
# the Faster R-CNN's: 18k iterations of batch 16, lr 0.01, steps at 12k and
# 16k, validation every 6k.
max_iters = 18000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=6000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1 / 3, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[12000, 16000],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=16)
