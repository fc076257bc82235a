# IR labels of VOC 2012 train_aug from the AdvCAM CAMs of
# advcam_cam-r50-os16_voc12aug.py with AdvCAM's thresholds (its run_sample.py):
# confident foreground above 0.35, confident background below 0.15 (IRN: 0.30
# / 0.05), dense CRF as IRN. Writes <work dir>/ir_labels/.
#   python tools/test.py \
#       configs/advcam/ir-label_r50-os16_voc12aug-advcam.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_voc12aug.py']

cam_dir = 'work_dirs/advcam_cam-r50-os16_voc12aug/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.15)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cam_dir,
            arrays=('keys', 'high_res'),
            num_classes=20),
        dict(type='mmwsss.LoadLabelMap', num_classes=20),
        dict(type='mmwsss.PackCAMInputs'),
    ]))
