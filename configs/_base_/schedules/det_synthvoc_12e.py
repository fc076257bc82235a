# Schedule of the CPU-sized SynthVOC detectors of configs/bbam (Faster R-CNN on
# boxes, Mask R-CNN on BBAM pseudo-masks): 12 epochs, SGD lr 0.02 for batch 8,
# a 100-iteration warm-up and x0.1 steps after epochs 9 and 11.
max_epochs = 12
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[9, 11],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
randomness = dict(seed=0)
