# RIB on the CPU-sized SynthVOC CAM classifier (half-width ResNet-18, crop
# 112): the VOC recipe (K = 10, head lr x10, B = 20 disjoint training images,
# GNDRP tau 0.4, stops 600 / 0.3-0.7) except the learning rate. VOC's 8e-6
# leaves this small classifier's CAMs unchanged (max difference 2e-5); 1e-3
# is the largest of {1e-3, 3e-3, 1e-2} for which neither stop fired within
# K = 10 steps on the first two training images (3e-3: explosion stop after
# 4-5 steps, 1e-2: after 2-3), chosen without ground truth.
# As in the reference only layer3, layer4 and the classifier are fine-tuned
# (frozen_stages=2 only sets requires_grad; the trained weights load
# unchanged).
#   python tools/test.py \
#       configs/rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py \
#       work_dirs/demo/cam_classifier/epoch_20.pth
_base_ = ['../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']

model = dict(
    type='mmwsss.RIBClassifier',
    backbone=dict(frozen_stages=2),
    rib_data=dict(
        dataset={{_base_.train_dataloader.dataset}},
        batch_size=20,
        num_workers=2,
        seed=0),
    num_iters=10,
    lr=1e-3,
    head_lr_mult=10.0,
    weight_decay=1e-4,
    momentum=1e-4,
    tau=0.4,
    stop_th=600.0,
    explode_th=0.3,
    explode_ratio=0.7,
    loss_scales=(1.0, 1.5, 2.0),
    explode_scale=1.0)
