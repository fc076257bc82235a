# RIB (per-image fine-tuning with GNDRP, jbeomlee93/RIB obtain_RIB_CAM.py)
# on the IRN CAM classifier of configs/cam, VOC 2012 train_aug.
# Inference only: train the classifier with the CAM config, then
#   python tools/test.py \
#       configs/rib/rib-gndrp_r50-os16_k10-b20_voc12aug-512.py \
#       work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/epoch_5.pth
# The auxiliary batches (B = 20 images sharing no class with the target, IRN
# training augmentation) come from the training set: when overriding its
# data_root, override model.rib_data.dataset.data_root too.
_base_ = ['../cam/cam_r50-os16_1xb16-5e_voc12aug-512.py']

model = dict(
    type='mmwsss.RIBClassifier',
    rib_data=dict(
        dataset={{_base_.train_dataloader.dataset}},
        batch_size=20,
        num_workers=4,
        seed=0),
    num_iters=10,
    lr=8e-6,
    head_lr_mult=10.0,
    weight_decay=1e-4,
    # the reference PolyOptimizer's momentum slot holds the weight decay
    momentum=1e-4,
    tau=0.4,
    stop_th=600.0,
    explode_th=0.3,
    explode_ratio=0.7,
    # the 0.5 scale is accumulated into the CAM but left out of the loss
    loss_scales=(1.0, 1.5, 2.0),
    explode_scale=1.0)
# The test job: the base's CAMWriter ({work_dir}/cams) and seed sweep (the
# reference sweeps 0.20..0.49, step 0.01).
