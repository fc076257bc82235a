# IR labels of COCO 2014 train2014 from the AdvCAM CAMs of
# advcam_cam-r50-os16_coco14.py with AdvCAM's thresholds (its run_sample.py;
# no COCO script is released): confident foreground above 0.35, background
# below 0.15, dense CRF as IRN. Writes <work dir>/ir_labels/.
#   python tools/test.py \
#       configs/advcam/ir-label_r50-os16_coco14-advcam.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_coco14.py']

cam_dir = 'work_dirs/advcam_cam-r50-os16_coco14/cams'
ir_label_dir = '{work_dir}/ir_labels'
model = dict(fg_threshold=0.35, bg_threshold=0.15)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cam_dir,
            arrays=('keys', 'high_res'),
            num_classes=80),
        dict(type='mmwsss.LoadLabelMap', num_classes=80),
        dict(type='mmwsss.PackCAMInputs'),
    ]))
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
