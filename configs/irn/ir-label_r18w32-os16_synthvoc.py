# SynthVOC IR labels from the CAMs of
# configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (VOC's recipe: fg 0.30,
# bg 0.05, dense CRF, with the CRF's spatial ranges scaled to SynthVOC's image
# size). Writes <work dir>/ir_labels/.
#   python tools/test.py configs/irn/ir-label_r18w32-os16_synthvoc.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/datasets/synthvoc_ir_label.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRLabelGenerator',
    fg_threshold=0.30,
    bg_threshold=0.05,
    crf=True,
    # IRN's CRF ranges are in pixels, set for VOC's ~440 px sides; SynthVOC's
    # average 143 px, so both are scaled by ~1/3 (bilateral 50 -> 15,
    # Gaussian 3 -> 1; measured in configs/irn/README.md)
    crf_cfg=dict(bilateral_sxy=15, gaussian_sxy=1),
    num_workers=2)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
