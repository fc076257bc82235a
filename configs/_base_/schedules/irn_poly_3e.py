# IRN train_irn schedule: 3 epochs, batch 32, lr 0.1 for the boundary branch
# and 1.0 (x10) for the displacement branch, weight decay 1e-4, poly decay
# (power 0.9) per iteration. The backbone is frozen (no gradient).
#
# Reference quirk: IRN's PolyOptimizer passes weight decay positionally into
# SGD's *momentum* slot, so the reference trains with momentum 1e-4 (i.e. none)
# while the per-group weight decay still applies. ``momentum=1e-4`` reproduces
# that; set ``optim_wrapper.optimizer.momentum=0.9`` for textbook SGD.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'displacement_': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=3,
        convert_to_iter_based=True)
]
# No validation: IRNet has no held-out target (the reference trains blind).
train_cfg = dict(by_epoch=True, max_epochs=3)
auto_scale_lr = dict(base_batch_size=32)
