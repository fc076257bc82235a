# IR labels of COCO 2014 train2014 from the AdvCAM CAMs of
# advcam_cam-r50-os16_coco14.py with AdvCAM's thresholds (its run_sample.py;
# no COCO script is released): confident foreground above 0.35, background
# below 0.15, dense CRF as IRN. Writes <work dir>/ir_labels/.
#   python tools/test.py \
#       configs/advcam/ir-label_r50-os16_coco14-advcam.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_coco14.py']

cam_dir = 'work_dirs/advcam_cam-r50-os16_coco14/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.15)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
