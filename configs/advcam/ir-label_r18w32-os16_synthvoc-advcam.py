# SynthVOC IR labels from the AdvCAM CAMs of advcam_cam-r18w32-os16_synthvoc.py
# with AdvCAM's thresholds: foreground > 0.35, background < 0.15, dense CRF.
# Writes <work dir>/ir_labels/.
#   python tools/test.py configs/advcam/ir-label_r18w32-os16_synthvoc-advcam.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
_base_ = ['../irn/ir-label_r18w32-os16_synthvoc.py']

cam_dir = 'work_dirs/advcam_cam-r18w32-os16_synthvoc/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.15)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cam_dir,
            arrays=('keys', 'high_res'),
            num_classes=6),
        dict(type='mmwsss.LoadLabelMap', num_classes=6),
        dict(type='mmwsss.PackCAMInputs'),
    ]))
