# SynthVOC semantic pseudo-masks from the FickleNet CAMs with the IRNet of
# irnet_r18w32_1xb16-10e_synthvoc-128-ficklenet.py; IRN's CAM^1 and the
# random-walk settings of configs/irn/irnet-rw_r18w32_synthvoc.py, with the
# background 0.05 that was swept for single-emblem SynthVOC (the README's
# figures; the base's 0.2 and CAM^1.5 are for make demo's multi-part SynthVOC).
#   python tools/test.py configs/ficklenet/irnet-rw_r18w32_synthvoc-ficklenet.py \
#       work_dirs/irnet_r18w32_1xb16-10e_synthvoc-128-ficklenet/epoch_10.pth
_base_ = ['../irn/irnet-rw_r18w32_synthvoc.py']

cam_dir = 'work_dirs/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112/cams'
model = dict(bg_threshold=0.05, cam_power=1.0)
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
