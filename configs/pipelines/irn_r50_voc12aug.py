# IRN on VOC 2012 (Ahn et al., CVPR 2019), image labels to a trained segmenter
# in one command: CAM classifier (ResNet-50) -> CAMs of train_aug (seed mIoU)
# -> IR labels -> IRNet -> random-walk pseudo-masks -> DeepLab-v2 (ResNet-101)
# trained on them and tested on val. Paper figures (dissertation Table 3.1,
# IRN): seed mIoU 48.8 (train), pseudo-mask mIoU 66.3 (train); DeepLab-v2
# 63.5 val (IRN CVPR'19, dissertation Tables 3.2 / 4.3).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug.py \
#       [--launcher pytorch --gpus 8]
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    classifier=_base_.classifier, cams=_base_.cams, **_base_.irn_stages)
