# RIB + S vs RIB on SynthVOC (dissertation §3.4, Table 3.7; VOC configs:
# ./irn_r50_voc12aug-rib.py and
# configs/rib/deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321-rib-sal.py),
# CPU-sized: SynthVOC with saliency maps (the union of the objects, degraded
# by a 1.5 px blur and noise of std 20 as a saliency model's maps would be)
# -> CAM classifier -> RIB CAMs
# (configs/rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py) -> IRN with
# RIB's settings (the configs/rib IRN configs) -> pseudo-masks -> DeepLab-v2
# trained on them twice: as they are (`deeplab`) and with the pixels where
# the saliency disagrees ignored (`deeplab_sal`), both tested on val.
#   python tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-rib-sal.py
_base_ = ['./_base_/irn_synthvoc.py']

data = _base_.data
deeplab_rib_config = ('configs/rib/'
                      'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib.py')
deeplab_sal_config = (
    'configs/rib/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib-sal.py')
deeplab_sal = dict(
    _base_.deeplab,
    config=deeplab_sal_config,
    cfg_options=dict(
        _base_.deeplab['cfg_options'], **{
            # the saliency_dir of its mmwsss.LoadSaliencyMap
            'train_dataloader.dataset.pipeline.2.saliency_dir':
            data + '/Saliency'
        }))

stages = dict(
    synthvoc=dict(
        _base_.synthvoc,
        options=dict(
            _base_.synthvoc['options'],
            saliency=True,
            saliency_blur=1.5,
            saliency_noise=20)),
    classifier=_base_.classifier,
    cams=dict(
        _base_.cams,
        config='configs/rib/rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py',
        cfg_options=dict(
            _base_.cams['cfg_options'],
            **{'model.rib_data.dataset.data_root': data})),
    ir_labels=dict(
        _base_.ir_labels,
        config='configs/rib/ir-label_r18w32-os16_synthvoc-rib.py'),
    irnet=dict(
        _base_.irnet,
        config='configs/rib/irnet_r18w32_1xb16-10e_synthvoc-128-rib.py'),
    pseudo_masks=dict(
        _base_.pseudo_masks, config='configs/rib/irnet-rw_r18w32_synthvoc-rib.py'),
    deeplab=dict(_base_.deeplab, config=deeplab_rib_config),
    deeplab_test=dict(_base_.deeplab_test, config=deeplab_rib_config),
    deeplab_sal=deeplab_sal,
    deeplab_sal_test=dict(
        _base_.deeplab_test,
        config=deeplab_sal_config,
        checkpoint='{deeplab_sal.checkpoint}'))
