# Semantic pseudo-masks (IRN step 7) of VOC 2012 train_aug: boundary map of
# the trained IRNet (image + flip), random walk of the stride-4 CAMs
# (beta 10, 2^8 steps, radius 5), background score 0.25. Writes
# work_dirs/pseudo_masks/irn_voc12aug/<id>.png and reports their mIoU.
#   python tools/test.py configs/irn/irnet-rw_r50_voc12aug.py \
#       work_dirs/irnet_r50_1xb32-3e_voc12aug-512/epoch_3.pth
# CAMs: work_dirs/cams/voc12aug (cam_dir of the dataset base; another folder:
# --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR).
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/voc12aug_irn_sem_seg.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRNetRandomWalk',
    beta=10,
    exp_times=8,
    walk_radius=5,
    bg_threshold=0.25,
    cam_power=1.0)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
