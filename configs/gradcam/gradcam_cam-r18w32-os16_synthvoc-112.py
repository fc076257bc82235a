# Grad-CAM seeds of SynthVOC train with the half-width ResNet-18 CAM
# classifier of configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (its
# checkpoint loads unchanged), at its last stage, with the CAM stage's
# multi-scale + flip scheme (scales 1.0, 0.5, 1.5, 2.0).
#   python tools/test.py \
#       configs/gradcam/gradcam_cam-r18w32-os16_synthvoc-112.py \
#       work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/epoch_20.pth
# Other methods: --cfg-options model.method=gradcampp (layercam, xgradcam,
# scorecam, eigencam) and a work dir of their own (--work-dir).
# Writes <work dir>/cams/<id>.npz and reports the seed mIoU.
_base_ = ['../cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py']

model = dict(
    type='mmwsss.GradCAMClassifier',
    method='gradcam',
    target_layer='backbone.layer4')
