# SynthVOC la/ha labels from the CAMs of
# configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (PSA's alphas 4 / 32
# and CRF, with the CRF's spatial ranges scaled to SynthVOC's image size).
# Writes <work dir>/psa_labels/.
#   python tools/test.py configs/psa/psa-label_r18w32-os16_synthvoc.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/datasets/synthvoc_psa_label.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.PSALabelGenerator',
    la_alpha=4,
    ha_alpha=32,
    crf=True,
    # PSA's CRF ranges are in pixels, set for VOC's ~440 px sides;
    # SynthVOC's average 143 px, so both are scaled by ~1/3 (bilateral
    # 80 -> 25, Gaussian 3 -> 1), as configs/irn does for IRN's CRF
    crf_cfg=dict(bilateral_sxy=25, gaussian_sxy=1),
    num_workers=2)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
