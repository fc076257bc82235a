# Dissertation Table 4.7, "+ W-OoD + AdvCAM + RIB" (60.7 seed mIoU): CAM
# classifier -> W-OoD fine-tuning -> one CAM job on the W-OoD classifier:
# per image RIB's fine-tuning, then AdvCAM's adversarial climbing on the
# fine-tuned weights (mmwsss.RIBAdvCAMClassifier,
# configs/rib/advcam-rib_r50-os16_k10-b20_voc12aug-512.py) -> IRN with W-OoD's
# settings (0.30 / 0.15, CAM^1.5, background 0.22) -> DeepLab-v2 (train, val
# test). The chain's prefixes: irn_r50_voc12aug-wood.py, -wood-advcam.py
# (and -wood-rib.py, the table's other row).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-wood-advcam-rib.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    **_base_.wood_stages,
    cams=dict(
        _base_.wood_cams,
        config='configs/rib/advcam-rib_r50-os16_k10-b20_voc12aug-512.py'),
    **_base_.wood_irn_stages)
