# Instance pseudo-masks (IRN step 6, make_ins_seg_labels) of VOC 2012 train
# with the IRNet trained on train_aug: displacement field -> centroids (300
# steps) -> instance centres (|D| < 2.5) -> per-(class, instance) random
# walk (beta 10, 2^8 steps, radius 5), background score 0.25, 4-connected
# components scored by their maximum (0 below 1% of the image). Writes
# <work dir>/instance_masks/<id>.instances.json and the merged COCO json
# <work dir>/instance_masks.json; reports the VOC AP@0.5 (IRN's
# eval_ins_seg protocol; the reference reports 37.7 on train, users reproduced
# 32.4-35.7, IRN issues #4/#26) and the COCO mask AP.
#   python tools/test.py configs/irn/irnet-ins_r50_voc12aug.py \
#       work_dirs/irnet_r50_1xb32-3e_voc12aug-512/epoch_3.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/voc12aug_irn_ins_seg.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRNetInstanceWalk',
    beta=10,
    exp_times=8,
    walk_radius=5,
    bg_threshold=0.25,
    cam_power=1.0,
    min_area_ratio=0.01,
    centroid_iterations=300,
    centre_threshold=2.5)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
