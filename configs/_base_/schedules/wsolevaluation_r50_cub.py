# Training schedule of the wsolevaluation protocol (Choe et al., CVPR 2020 /
# TPAMI 2022) for ResNet-50 on CUB: batch 32, 50 epochs, SGD (Nesterov,
# momentum 0.9, weight decay 1e-4), lr x0.1 every 15 epochs, layer4 and the
# head at 10x the base lr (`lr_classifier_ratio`). The base lr is searched
# per method: each method's config sets `optim_wrapper.optimizer.lr`.
max_epochs = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4, nesterov=True),
    paramwise_cfg=dict(
        custom_keys={
            'backbone.layer4': dict(lr_mult=10.0),
            'head': dict(lr_mult=10.0)
        }))
param_scheduler = dict(type='StepLR', by_epoch=True, step_size=15, gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=32)
