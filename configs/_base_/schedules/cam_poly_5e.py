# IRN train_cam schedule: 5 epochs, lr 0.1 (classifier x10), weight decay 1e-4,
# poly decay (power 0.9) per iteration.
#
# Reference quirk: IRN's PolyOptimizer passes weight decay positionally into
# SGD's *momentum* slot, so the reference trains with momentum 1e-4 (i.e. none)
# while the per-group weight decay still applies. ``momentum=1e-4`` reproduces
# that; set ``optim_wrapper.optimizer.momentum=0.9`` for textbook SGD.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True)
]
train_cfg = dict(by_epoch=True, max_epochs=5, val_interval=1)
val_cfg = dict()
test_cfg = dict(type='mmwsss.ResumableTestLoop')
auto_scale_lr = dict(base_batch_size=16)
