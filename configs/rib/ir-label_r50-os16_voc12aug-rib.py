# IR labels of VOC 2012 train_aug from the RIB CAMs of
# rib-gndrp_r50-os16_k10-b20_voc12aug-512.py with RIB's thresholds (its
# run_sample.py): confident foreground above 0.35, confident background below
# 0.17 (IRN: 0.30 / 0.05), dense CRF as IRN. Writes
# <work dir>/ir_labels/.
#   python tools/test.py configs/rib/ir-label_r50-os16_voc12aug-rib.py CAM_CKPT
_base_ = ['../irn/ir-label_r50-os16_voc12aug.py']

cam_dir = 'work_dirs/rib-gndrp_r50-os16_k10-b20_voc12aug-512/cams'
model = dict(fg_threshold=0.35, bg_threshold=0.17)
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
