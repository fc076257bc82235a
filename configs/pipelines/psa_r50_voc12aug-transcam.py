# TransCAM on VOC 2012 (Li et al., JVCIR 2023) with the paper's pseudo-mask
# step, PSA: TransCAM classifier (Conformer-S, configs/transcam) -> its CAMs
# of train_aug -> PSA labels -> AffinityNet (ResNet-50) -> random walk ->
# DeepLab-v2 (train, val test). Paper (BNR Table 1): seed mIoU 64.9 (train),
# segmentation 69.3 val with PSA and DeepLab ResNet-38; here DeepLab-v2
# ResNet-101 (configs/deeplabv2) and AffinityNet ResNet-50 (configs/psa).
#   python tools/run_pipeline.py configs/pipelines/psa_r50_voc12aug-transcam.py
_base_ = ['./_base_/psa_voc12aug.py']

transcam_config = (
    'configs/transcam/transcam_conformer-s_1xb8-20e_voc12aug-512.py')
stages = dict(
    classifier=dict(_base_.classifier, config=transcam_config),
    cams=dict(_base_.cams, config=transcam_config),
    **_base_.psa_stages)
