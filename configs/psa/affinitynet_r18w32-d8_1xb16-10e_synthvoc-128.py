# CPU-sized AffinityNet on SynthVOC: crop 128 (16 x 16 grid), batch 16, 10
# epochs, PSA's optimiser (lr 0.1, head x10, weight decay 5e-4, momentum
# quirk, poly). No ImageNet weights are available offline, so the backbone
# starts from the half-width ResNet-18 of the SynthVOC CAM classifier (at
# output stride 8 here: same weights, dilated last stages); point
# `cam_checkpoint` at another run with --cfg-options
# model.backbone.init_cfg.checkpoint=PATH.
#   python tools/train.py \
#       configs/psa/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py
_base_ = [
    '../_base_/models/affinitynet_r50-d8.py',
    '../_base_/datasets/synthvoc_affinitynet.py',
    '../_base_/schedules/psa_poly_8e.py',
    '../_base_/default_runtime_cls.py',
]

cam_checkpoint = 'work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth'
model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        init_cfg=dict(
            type='Pretrained', checkpoint=cam_checkpoint, prefix='backbone.')),
    # stages 2-4 are 32 * 2**i wide
    in_channels=(64, 128, 256))

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
