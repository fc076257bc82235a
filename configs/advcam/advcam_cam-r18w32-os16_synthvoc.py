# AdvCAM CAMs of SynthVOC train with the half-width ResNet-18 CAM classifier
# of configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py, official settings
# (T = 27, xi = 0.08, lambda = 7, tau = 0.5, scales (1.0, 0.5, 1.5, 2.0)).
#   python tools/test.py configs/advcam/advcam_cam-r18w32-os16_synthvoc.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
# Fewer steps on CPU: --cfg-options model.adv_iter=8
# Writes <work dir>/cams/<id>.npz and reports the seed mIoU.
_base_ = ['../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']

model = dict(
    type='mmwsss.AdvCAMClassifier',
    adv_iter=27,
    ad_coeff=7.0,
    step_size=0.08,
    score_th=0.5,
    one_backward=True)
