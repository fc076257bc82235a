# Schedule of BBAM's COCO detector (official BBAM_coco_FPN_R101_FasterRCNN
# .yaml, maskrcnn-benchmark): iteration-based SGD, batch 8, lr 0.01,
# momentum 0.9, weight decay 1e-4, 500 linear warm-up iterations from 1/3
# (maskrcnn-benchmark's default), x0.1 at 120k and 160k, 180k iterations
# (the 1x COCO schedule at half the batch).
max_iters = 180000
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
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
        milestones=[120000, 160000],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=8)
