# CPU-sized IRNet on SynthVOC: crop 128, batch 16, 10 epochs, the reference
# optimiser (lr 0.1, displacement x10, momentum quirk, poly). No ImageNet
# weights are available offline, so the frozen backbone is the ResNet-18 of
# the SynthVOC CAM classifier (IRN uses an ImageNet ResNet-50, not the CAM
# network); point `cam_checkpoint` at another run with --cfg-options
# model.backbone.init_cfg.checkpoint=PATH.
#   python tools/train.py configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/synthvoc_irnet.py',
    '../_base_/schedules/irn_poly_3e.py',
    '../_base_/default_runtime_cls.py',
]

cam_checkpoint = 'work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth'
model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        init_cfg=dict(
            type='Pretrained', checkpoint=cam_checkpoint, prefix='backbone.')),
    # the stem keeps 64 channels; stages are 32 * 2**i wide
    in_channels=(64, 32, 64, 128, 256),
    # SynthVOC images are at most 192 px
    test_pad_size=192)

max_epochs = 10
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
