# Semantic pseudo-masks (IRN step 7) of VOC 2012 train_aug: boundary map of
# the trained IRNet (image + flip), random walk of the stride-4 CAMs
# (beta 10, 2^8 steps, radius 5), background score 0.25. Writes
# <work dir>/pseudo_masks/<id>.png and reports their mIoU.
#   python tools/test.py configs/irn/irnet-rw_r50_voc12aug.py \
#       work_dirs/irnet_r50_1xb32-3e_voc12aug-512/epoch_3.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams); another folder:
# --cfg-options cam_dir=DIR.
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
