# SynthVOC semantic pseudo-masks from the RIB CAMs: CAM^1.3 before the random
# walk and background score 0.27 (RIB's run_sample.py), the IRNet of
# irnet_r18w32_1xb16-10e_synthvoc-128-rib.py.
#   python tools/test.py configs/rib/irnet-rw_r18w32_synthvoc-rib.py \
#       work_dirs/irnet_r18w32_1xb16-10e_synthvoc-128-rib/epoch_10.pth
_base_ = ['../irn/irnet-rw_r18w32_synthvoc.py']

cam_dir = 'work_dirs/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112/cams'
model = dict(bg_threshold=0.27, cam_power=1.3)
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
