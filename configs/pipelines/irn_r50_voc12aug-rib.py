# IRN fed by RIB on VOC 2012 (Lee et al., NeurIPS 2021; dissertation §3.4):
# CAM classifier -> RIB CAMs of train_aug (per-image fine-tuning with GNDRP,
# configs/rib) -> IRN with RIB's settings (IR labels at 0.35 / 0.17, CAM^1.3,
# background 0.27: the configs/rib IRN configs) -> DeepLab-v2 (train, val
# test). Paper: seed mIoU 56.5 (dissertation Table 3.9), pseudo-mask 70.6
# (§3.4), DeepLab-v2 R-101 68.3 val (Table 3.6).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-rib.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    classifier=_base_.classifier,
    cams=dict(
        _base_.cams,
        config='configs/rib/rib-gndrp_r50-os16_k10-b20_voc12aug-512.py'),
    ir_labels=dict(
        _base_.ir_labels,
        config='configs/rib/ir-label_r50-os16_voc12aug-rib.py'),
    irnet=dict(
        _base_.irnet,
        config='configs/rib/irnet_r50_1xb32-3e_voc12aug-512-rib.py'),
    pseudo_masks=dict(
        _base_.pseudo_masks,
        config='configs/rib/irnet-rw_r50_voc12aug-rib.py'),
    deeplab=_base_.deeplab,
    deeplab_test=_base_.deeplab_test)
