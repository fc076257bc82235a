# AdvCAM (adversarial climbing, CVPR 2021) CAMs of VOC 2012 train_aug with the
# IRN CAM classifier of configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py,
# at the official settings: T = 27 steps (13 at scale 0.5), xi = 0.08 on the
# max-normalised gradient, lambda = 7, tau = 0.5, scales (1.0, 0.5, 1.5, 2.0)
# with flips. Inference only: the checkpoint is the CAM classifier's.
#   bash tools/dist_test.sh configs/advcam/advcam_cam-r50-os16_voc12aug.py \
#       work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/epoch_5.pth 8
# Writes <work dir>/cams/<id>.npz (the CAM file format of mmwsss.CAMWriter; a
# killed run resumes) and reports the seed mIoU.
_base_ = ['../cam/cam_r50-os16_1xb16-5e_voc12aug-512.py']

model = dict(
    type='mmwsss.AdvCAMClassifier',
    adv_iter=27,
    ad_coeff=7.0,
    step_size=0.08,
    score_th=0.5,
    # one forward + one backward per step (the reference's second, Grad-CAM
    # backward is a closed form here); False runs the reference's two
    one_backward=True,
    # Classes climbed together (each a pair image + flip). A class at scale
    # 2.0 of a 500 x 375 VOC image is a 2 x 3 x 1000 x 750 batch through
    # ResNet-50 with autograd; raise on large GPUs.
    max_classes_per_batch=2)
