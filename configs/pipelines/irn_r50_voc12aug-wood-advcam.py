# Dissertation Table 4.7, "+ W-OoD + AdvCAM" (59.1 seed mIoU; pseudo-masks
# 72.1, Table 4.2; DeepLab-v2 R-101 69.8 val, Table 4.3), the released W-OoD
# pipeline: CAM classifier -> W-OoD fine-tuning -> AdvCAM CAMs of train_aug on
# the W-OoD classifier (configs/advcam) -> IRN with W-OoD's settings (0.30 /
# 0.15, CAM^1.5, background 0.22) -> DeepLab-v2 (train, val test).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-wood-advcam.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    **_base_.wood_stages,
    cams=dict(
        _base_.wood_cams,
        config='configs/advcam/advcam_cam-r50-os16_voc12aug.py'),
    **_base_.wood_irn_stages)
