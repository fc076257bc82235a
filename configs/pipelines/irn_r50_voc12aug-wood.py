# IRN fed by W-OoD on VOC 2012 (Lee et al., CVPR 2022; dissertation §4,
# Table 4.7 row "+ W-OoD"): CAM classifier -> W-OoD fine-tuning with the hard
# OoD images -> its CAMs of train_aug -> IRN with W-OoD's settings (IR labels
# at 0.30 / 0.15, CAM^1.5, walk background 0.22: naver-ai/w-ood run_sample.py)
# -> DeepLab-v2 (train, val test). Paper: seed mIoU 49.5 -> 53.3 (Tables 4.1,
# 4.7), pseudo-mask 71.1 (Table 4.2).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-wood.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    **_base_.wood_stages,
    cams=dict(_base_.cams, config=_base_.wood_config),
    **_base_.wood_irn_stages)
