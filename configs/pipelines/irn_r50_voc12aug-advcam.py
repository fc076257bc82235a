# IRN fed by AdvCAM on VOC 2012 (Lee et al., CVPR 2021 / TPAMI; dissertation
# §3.3): CAM classifier -> AdvCAM CAMs of train_aug (adversarial climbing,
# configs/advcam) -> IRN with AdvCAM's settings (IR labels at 0.35 / 0.15,
# CAM^1.5 before the walk: the configs/advcam IRN configs) -> DeepLab-v2
# (train, val test). Paper: seed mIoU 55.6 (dissertation Table 3.1),
# pseudo-mask 69.9 (Table 3.4), DeepLab-v2 R-101 68.1 val (Table 3.2).
#   python tools/run_pipeline.py configs/pipelines/irn_r50_voc12aug-advcam.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    classifier=_base_.classifier,
    cams=dict(
        _base_.cams, config='configs/advcam/advcam_cam-r50-os16_voc12aug.py'),
    ir_labels=dict(
        _base_.ir_labels,
        config='configs/advcam/ir-label_r50-os16_voc12aug-advcam.py'),
    irnet=dict(
        _base_.irnet,
        config='configs/advcam/irnet_r50_1xb32-3e_voc12aug-512-advcam.py'),
    pseudo_masks=dict(
        _base_.pseudo_masks,
        config='configs/advcam/irnet-rw_r50_voc12aug-advcam.py'),
    deeplab=_base_.deeplab,
    deeplab_test=_base_.deeplab_test)
