# Baseline of the W-OoD measurement: the demo SynthVOC CAM classifier
# fine-tuned for 5 more epochs *without* OoD data, with exactly the schedule,
# frozen layers and checkpoint selection of
# wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py (which inherits this file).
#   python tools/train.py \
#       configs/wood/cam-ft_r18w32-os16_1xb16-5e_synthvoc-112.py
_base_ = ['../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']

# The initial (in-distribution) classifier, trained with the base config.
load_from = 'work_dirs/demo/cam_classifier/epoch_20.pth'

# As the W-OoD reference: only layer3, layer4 and the classifier are trained
# and BatchNorm statistics stay fixed (its FixedBatchNorm); OoD batches must
# not move the running statistics.
model = dict(backbone=dict(frozen_stages=2, norm_eval=True))

# The reference fine-tunes with the recipe of the initial classifier for 5
# epochs; here that of the demo classifier (SGD 0.05, momentum 0.9, head
# x10, poly).
max_epochs = 5
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
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# Checkpoint selection without ground-truth masks: the best classification
# mAP on the held-out val images (image labels only). The official W-OoD
# code selects by seed mIoU against train-set masks instead.
default_hooks = dict(
    checkpoint=dict(
        interval=1,
        max_keep_ckpts=1,
        save_best='multi-label/mAP',
        rule='greater'))
