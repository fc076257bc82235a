# IR labels (IRN step 4) of COCO 2014 train2014 from the CAMs of
# configs/cam/cam_r50-os16_1xb16-5e_coco14-512.py with IRN's own thresholds
# (the dissertation's COCO baseline, Table 3.8, ran the official IRN
# settings): confident foreground above 0.30, background below 0.05, each map
# refined by the dense CRF; 255 elsewhere. Writes
# <work dir>/ir_labels/<id>.png and their precision against the
# converted train2014 masks.
#   python tools/test.py configs/irn/ir-label_r50-os16_coco14.py CAM_CKPT
_base_ = [
    '../_base_/datasets/coco14_ir_label.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRLabelGenerator',
    fg_threshold=0.30,
    bg_threshold=0.05,
    crf=True,
    # CPU processes for the CRFs (<= test batch size)
    num_workers=8)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
