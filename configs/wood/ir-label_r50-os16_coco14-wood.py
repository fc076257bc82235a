# IR labels of COCO 2014 train2014 from the W-OoD CAMs of
# wood_r50-os16_k50_1xb16-5e_coco14-512.py with W-OoD's IRN thresholds (its
# VOC run_sample.py; no COCO script exists): confident foreground above
# 0.30, background below 0.15, dense CRF as IRN. Writes
# <work dir>/ir_labels/.
#   python tools/test.py configs/wood/ir-label_r50-os16_coco14-wood.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_coco14.py']

cam_dir = 'work_dirs/wood_r50-os16_k50_1xb16-5e_coco14-512/cams'
model = dict(fg_threshold=0.30, bg_threshold=0.15)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
