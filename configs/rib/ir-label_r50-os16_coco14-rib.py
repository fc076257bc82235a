# IR labels of COCO 2014 train2014 from the RIB CAMs of
# rib-gndrp_r50-os16_k10-b15_coco14-512.py with RIB's COCO thresholds
# (run_sample_coco.py): confident foreground above 0.35, background below
# 0.17, dense CRF as IRN. Writes <work dir>/ir_labels/.
#   python tools/test.py configs/rib/ir-label_r50-os16_coco14-rib.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_coco14.py']

cam_dir = 'work_dirs/rib-gndrp_r50-os16_k10-b15_coco14-512/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.17)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
