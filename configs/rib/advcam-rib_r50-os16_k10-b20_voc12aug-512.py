# AdvCAM on RIB (dissertation §4.6, Table 4.7 "+ AdvCAM + RIB") as one CAM
# job on VOC 2012 train_aug: per image, RIB's fine-tuning of
# rib-gndrp_r50-os16_k10-b20_voc12aug-512.py, then AdvCAM's adversarial
# climbing of ../advcam/advcam_cam-r50-os16_voc12aug.py (T = 27, xi = 0.08,
# lambda = 7, tau = 0.5) on the last fine-tuned model whose maps RIB kept
# (mmwsss.RIBAdvCAMClassifier). Inference only; the checkpoint is a CAM
# classifier's (in Table 4.7 the W-OoD one, configs/wood):
#   python tools/test.py configs/rib/advcam-rib_r50-os16_k10-b20_voc12aug-512.py \
#       work_dirs/wood_r50-os16_k50_1xb16-5e_voc12aug-512/epoch_5.pth
# Writes <work dir>/cams/<id>.npz and reports the seed mIoU.
_base_ = ['./rib-gndrp_r50-os16_k10-b20_voc12aug-512.py']

model = dict(
    type='mmwsss.RIBAdvCAMClassifier',
    adv_iter=27,
    ad_coeff=7.0,
    step_size=0.08,
    score_th=0.5,
    one_backward=True,
    max_classes_per_batch=2)
