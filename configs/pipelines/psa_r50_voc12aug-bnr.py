# TransCAM + BNR on VOC 2012 (Fujimori et al., 2024) with the paper's
# pseudo-mask step, PSA: BNR classifier (Conformer-S, configs/transcam) -> its
# CAMs of train_aug -> PSA labels -> AffinityNet (ResNet-50) -> random walk ->
# DeepLab-v2 (train, val test). Paper (BNR Table 1): seed mIoU 66.2 (train),
# segmentation 70.5 val (PSA, DeepLab ResNet-38; here DeepLab-v2 ResNet-101).
#   python tools/run_pipeline.py configs/pipelines/psa_r50_voc12aug-bnr.py
_base_ = ['./_base_/psa_voc12aug.py']

bnr_config = 'configs/transcam/bnr_conformer-s_1xb8-20e_voc12aug-512.py'
stages = dict(
    classifier=dict(_base_.classifier, config=bnr_config),
    cams=dict(_base_.cams, config=bnr_config),
    **_base_.psa_stages)
