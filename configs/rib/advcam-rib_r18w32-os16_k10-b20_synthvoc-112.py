# AdvCAM on RIB (dissertation Table 4.7 "+ AdvCAM + RIB") as one CAM job on
# SynthVOC train: per image, RIB's fine-tuning of
# rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py, then AdvCAM's climbing of
# ../advcam/advcam_cam-r18w32-os16_synthvoc.py on the last fine-tuned model
# whose maps RIB kept (mmwsss.RIBAdvCAMClassifier). Inference only:
#   python tools/test.py configs/rib/advcam-rib_r18w32-os16_k10-b20_synthvoc-112.py \
#       work_dirs/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112/epoch_5.pth
# Fewer steps on CPU: --cfg-options model.adv_iter=8 model.num_iters=5
# Writes <work dir>/cams/<id>.npz and the seed mIoU.
_base_ = ['./rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py']

model = dict(
    type='mmwsss.RIBAdvCAMClassifier',
    adv_iter=27,
    ad_coeff=7.0,
    step_size=0.08,
    score_th=0.5,
    one_backward=True)
