# SynthVOC IR labels from the CAMs of
# configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (same recipe as VOC:
# fg 0.30, bg 0.05, dense CRF). Writes work_dirs/ir_labels/synthvoc/.
#   python tools/test.py configs/irn/ir-label_cam-r18-os16_synthvoc.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
_base_ = [
    '../_base_/datasets/synthvoc_ir_label.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRLabelGenerator',
    cam_dir='work_dirs/cams/synthvoc',
    fg_threshold=0.30,
    bg_threshold=0.05,
    crf=True,
    num_workers=2)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
