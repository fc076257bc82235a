# PSA train_aff schedule: 8 epochs, batch 8, lr 0.1 for the backbone and
# 1.0 (x10) for the new affinity head, weight decay 5e-4, poly decay (power
# 0.9) per iteration.
#
# Reference quirk (as IRN's, see irn_poly_3e.py): PSA's PolyOptimizer passes
# the weight decay positionally into SGD's *momentum* slot, so the reference
# trains with momentum 5e-4 (i.e. none). ``momentum=5e-4`` reproduces that;
# set ``optim_wrapper.optimizer.momentum=0.9`` for textbook SGD.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'affinity_head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=8,
        convert_to_iter_based=True)
]
# No validation: AffinityNet has no held-out target (the reference trains
# blind).
train_cfg = dict(by_epoch=True, max_epochs=8)
auto_scale_lr = dict(base_batch_size=8)
