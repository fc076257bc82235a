# Semantic pseudo-masks (IRN step 7) of COCO 2014 train2014: boundary map of
# the IRNet of irnet_r50_1xb32-3e_coco14-512.py (image + flip), random walk
# of the stride-4 CAMs with IRN's settings (beta 10, 2^8 steps, radius 5),
# background score 0.25. Writes <work dir>/pseudo_masks/<id>.png
# and reports their mIoU against the converted train2014 masks.
#   python tools/test.py configs/irn/irnet-rw_r50_coco14.py \
#       work_dirs/irnet_r50_1xb32-3e_coco14-512/epoch_3.pth
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/coco14_irn_sem_seg.py',
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
