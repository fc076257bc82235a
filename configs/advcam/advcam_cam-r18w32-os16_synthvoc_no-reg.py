# Ablation (dissertation Fig. 3.7): adversarial climbing without
# regularisation, i.e. without suppressing the other classes' scores and
# without the masked L1 term; otherwise ./advcam_cam-r18w32-os16_synthvoc.py.
_base_ = ['./advcam_cam-r18w32-os16_synthvoc.py']

model = dict(suppress_other_classes=False, ad_coeff=0.0)
