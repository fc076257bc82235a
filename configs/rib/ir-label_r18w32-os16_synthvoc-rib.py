# SynthVOC IR labels from the RIB CAMs of
# rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py with RIB's thresholds:
# foreground > 0.35, background < 0.17, dense CRF. Writes
# <work dir>/ir_labels/.
#   python tools/test.py configs/rib/ir-label_r18w32-os16_synthvoc-rib.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
_base_ = ['../irn/ir-label_r18w32-os16_synthvoc.py']

cam_dir = 'work_dirs/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.17)
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
