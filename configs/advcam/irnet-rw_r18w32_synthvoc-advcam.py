# SynthVOC semantic pseudo-masks from the AdvCAM CAMs: CAM^1.5 before the
# random walk (AdvCAM's make_sem_seg_labels.py), background score 0.25, the
# IRNet of irnet_r18w32_1xb16-10e_synthvoc-128-advcam.py.
#   python tools/test.py configs/advcam/irnet-rw_r18w32_synthvoc-advcam.py \
#       work_dirs/irnet_r18w32_1xb16-10e_synthvoc-128-advcam/epoch_10.pth
_base_ = ['../irn/irnet-rw_r18w32_synthvoc.py']

cam_dir = 'work_dirs/advcam_cam-r18w32-os16_synthvoc/cams'
model = dict(bg_threshold=0.25, cam_power=1.5)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cam_dir,
            arrays=('keys', 'strided'),
            num_classes=6),
        dict(type='mmwsss.LoadLabelMap', num_classes=6),
        dict(type='mmwsss.PackCAMInputs'),
    ]))
