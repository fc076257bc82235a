# The training recipe of wsolevaluation (main.py): SGD, momentum 0.9,
# Nesterov, the new layers at 10x the lr (`lr_classifier_ratio`; which layers
# are new depends on the backbone: set `paramwise_cfg.custom_keys`), the lr
# x0.1 every `lr_decay_frequency` epochs, batch 32, the last epoch evaluated.
# Configs set lr, weight decay, the step and the number of epochs, tuned per
# backbone and dataset in the paper's hyper-parameter search.
max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'head': dict(lr_mult=10.0)}))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=15, gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
