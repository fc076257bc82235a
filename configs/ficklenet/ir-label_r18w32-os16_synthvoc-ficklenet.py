# SynthVOC IR labels from the FickleNet CAMs (32 draws, max) of
# ficklenet_r18w32-os16_1xb16-5e_synthvoc-112.py with IRN's thresholds
# (foreground > 0.30, background < 0.05, dense CRF; neither the FickleNet
# paper nor the dissertation gives FickleNet-specific IRN settings) and IRN's
# VOC CRF ranges, with which the README's figures were measured. Writes
# <work dir>/ir_labels/.
#   python tools/test.py configs/ficklenet/ir-label_r18w32-os16_synthvoc-ficklenet.py \
#       work_dirs/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112/epoch_5.pth
_base_ = ['../irn/ir-label_r18w32-os16_synthvoc.py']

cam_dir = 'work_dirs/ficklenet_r18w32-os16_1xb16-5e_synthvoc-112/cams'
model = dict(crf_cfg=None)
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
