# RIB on COCO 2014 train2014 with the settings of the official COCO script
# (jbeomlee93/RIB obtain_RIB_CAM_coco.py): K = 10 iterations, lr 5e-6
# (classifier x10), B = 15 disjoint images per step, GNDRP tau 0.5, logit
# stop (the paper's margin) 1000, explosion stop 0.3 / 0.8; the CAM
# classifier of configs/cam/cam_r50-os16_1xb16-5e_coco14-512.py. The
# reference's GNDRP masks only classes 0..19 (a loop hard-coded to 20, so
# COCO classes >= 20 get GAP); mmwsss masks every class.
# Inference only:
#   bash tools/dist_test.sh \
#       configs/rib/rib-gndrp_r50-os16_k10-b15_coco14-512.py \
#       work_dirs/cam_r50-os16_1xb16-5e_coco14-512/epoch_5.pth 8
# When overriding data_root, override model.rib_data.dataset.data_root too.
_base_ = ['../cam/cam_r50-os16_1xb16-5e_coco14-512.py']

model = dict(
    type='mmwsss.RIBClassifier',
    rib_data=dict(
        dataset={{_base_.train_dataloader.dataset}},
        batch_size=15,
        num_workers=4,
        seed=0,
        # disjoint-index lists kept for this many class sets (LRU); COCO
        # train2014 has tens of thousands of distinct class sets
        cache_size=256),
    num_iters=10,
    lr=5e-6,
    head_lr_mult=10.0,
    weight_decay=1e-4,
    # the reference PolyOptimizer's momentum slot holds the weight decay
    momentum=1e-4,
    tau=0.5,
    stop_th=1000.0,
    explode_th=0.3,
    explode_ratio=0.8,
    # the 0.5 scale is accumulated into the CAM but left out of the loss
    loss_scales=(1.0, 1.5, 2.0),
    explode_scale=1.0)

test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    # the reference sweeps 0.10..0.50 on COCO
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]
