# IRN fed by MoANA on VOC 2012 (MoANA, Sci. Rep. 2023, Table 3): the IRN CAM
# classifier with the MoANA neck (configs/moana) -> its CAMs of train_aug ->
# IR labels -> IRNet -> random-walk pseudo-masks -> DeepLab-v2 (train, val
# test), IRN's settings throughout. Table 3 (ResNet-50): CAM 49.2, pseudo-mask
# 66.7, segmentation 67.0 mIoU (IRNet in the same table: 48.3 / 65.9 / 63.0).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-moana.py
_base_ = ['./_base_/irn_voc12aug.py']

moana_config = 'configs/moana/moana_r50-os16_1xb16-5e_voc12aug-512.py'
stages = dict(
    classifier=dict(_base_.classifier, config=moana_config),
    cams=dict(_base_.cams, config=moana_config),
    **_base_.irn_stages)
