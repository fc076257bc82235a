# Dissertation Table 4.7, "+ W-OoD + RIB" (56.8 seed mIoU): CAM classifier ->
# W-OoD fine-tuning -> RIB CAMs of train_aug on the W-OoD classifier
# (configs/rib) -> IRN with W-OoD's settings (0.30 / 0.15, CAM^1.5,
# background 0.22; the dissertation names no others for the combination) ->
# DeepLab-v2 (train, val test).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-wood-rib.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    **_base_.wood_stages,
    cams=dict(
        _base_.wood_cams,
        config='configs/rib/rib-gndrp_r50-os16_k10-b20_voc12aug-512.py'),
    **_base_.wood_irn_stages)
