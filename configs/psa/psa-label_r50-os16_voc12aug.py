# PSA's la/ha labels (infer_cls.py) from the CAMs of
# configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py: background
# (1 - max CAM)**alpha with alpha 4 (la) and 32 (ha), PSA's dense CRF on
# each, label = la's argmax, unknown where la says background and ha does
# not. Writes <work dir>/psa_labels/.
#   python tools/test.py configs/psa/psa-label_r50-os16_voc12aug.py CAM_CKPT
_base_ = [
    '../_base_/datasets/voc12aug_psa_label.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.PSALabelGenerator',
    la_alpha=4,
    ha_alpha=32,
    crf=True,
    # CPU processes for the CRFs (<= test batch size)
    num_workers=8)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
