# IR labels (IRN step 4) of VOC 2012 train_aug from the CAMs of
# configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py: confident foreground
# above 0.30, confident background below 0.05, each map refined by the dense
# CRF; 255 elsewhere. Writes <work dir>/ir_labels/<id>.png and reports their
# precision against SegmentationClassAug.
#   python tools/test.py configs/irn/ir-label_r50-os16_voc12aug.py CAM_CKPT
# The model has no weights: CAM_CKPT (the classifier that made the CAMs) is
# only recorded in the manifest. A killed run resumes where it stopped.
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/datasets/voc12aug_ir_label.py',
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
