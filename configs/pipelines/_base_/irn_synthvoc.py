# Stages of the image-label chains on SynthVOC, CPU-sized (the stage configs'
# SynthVOC versions): the data (`synthvoc`, 2-3 emblem parts per object as in
# `make demo`), a CAM classifier (`classifier`), its CAM job (`cams`), IRN
# with SynthVOC's settings and DeepLab-v2 (trained, then tested on val).
# A pipeline lists the stages it runs, as with ./irn_voc12aug.py:
#   stages = dict(synthvoc=_base_.synthvoc, classifier=_base_.classifier,
#                 cams=_base_.cams, **_base_.irn_stages)
# Every stage reads the generated data and the folders the runner gives it
# ('{stage.output}'), never the stage configs' default paths.
cam_config = 'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'
ir_label_config = 'configs/irn/ir-label_r18w32-os16_synthvoc.py'
irnet_config = 'configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py'
rw_config = 'configs/irn/irnet-rw_r18w32_synthvoc.py'
ins_config = 'configs/irn/irnet-ins_r18w32_synthvoc.py'
deeplab_config = ('configs/deeplabv2/'
                  'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py')

data = '{synthvoc.data}'
on_data = {
    'train_dataloader.dataset.data_root': data,
    'val_dataloader.dataset.data_root': data,
    'test_dataloader.dataset.data_root': data,
}
cam_dir_option = 'test_dataloader.dataset.pipeline.1.cam_dir'
seed_metrics = dict(
    miou='cam_seed/mIoU',
    threshold='cam_seed/threshold',
    precision='cam_seed/precision',
    recall='cam_seed/recall')

synthvoc = dict(
    kind='script',
    script='tools/dataset_converters/generate_synthetic_voc.py',
    args=[data],
    options=dict(seed=0, emblem_parts=[2, 3]),
    outputs=dict(data='data'))
classifier = dict(
    kind='train',
    config=cam_config,
    cfg_options=on_data,
    metrics=dict(cls_map='multi-label/mAP'))
cams = dict(
    kind='test',
    config=cam_config,
    checkpoint='{classifier.checkpoint}',
    outputs=dict(cams='cams'),
    cfg_options=dict(on_data,
                     **{'test_evaluator.0.output_dir': '{cams.cams}'}),
    metrics=seed_metrics)
ir_labels = dict(
    kind='test',
    config=ir_label_config,
    checkpoint='{classifier.checkpoint}',
    outputs=dict(labels='labels'),
    cfg_options={
        'test_dataloader.dataset.data_root': data,
        cam_dir_option: '{cams.cams}',
        'test_evaluator.0.output_dir': '{ir_labels.labels}',
    },
    metrics=dict(
        precision='ir_label/precision', labelled='ir_label/labelled'))
irnet = dict(
    kind='train',
    config=irnet_config,
    cfg_options={
        # its frozen backbone is the CAM classifier's
        'model.backbone.init_cfg.checkpoint': '{classifier.checkpoint}',
        'train_dataloader.dataset.data_root': data,
        'train_dataloader.dataset.ir_label_dir': '{ir_labels.labels}',
        'custom_hooks.0.dataloader.dataset.data_root': data,
    })
pseudo_masks = dict(
    kind='test',
    config=rw_config,
    checkpoint='{irnet.checkpoint}',
    outputs=dict(masks='masks'),
    cfg_options={
        'test_dataloader.dataset.data_root': data,
        cam_dir_option: '{cams.cams}',
        'test_evaluator.0.output_dir': '{pseudo_masks.masks}',
    },
    metrics=dict(
        miou='pseudo_mask/mIoU',
        precision='pseudo_mask/mPrecision',
        recall='pseudo_mask/mRecall'))
deeplab = dict(
    kind='train',
    config=deeplab_config,
    cfg_options=dict(
        on_data, **{
            'train_dataloader.dataset.pseudo_mask_dir': '{pseudo_masks.masks}'
        }),
    metrics=dict(val_miou='mIoU'))
deeplab_test = dict(
    kind='test',
    config=deeplab_config,
    checkpoint='{deeplab.checkpoint}',
    cfg_options=on_data,
    metrics=dict(val_miou='mIoU'))
irn_stages = dict(
    ir_labels=ir_labels,
    irnet=irnet,
    pseudo_masks=pseudo_masks,
    deeplab=deeplab,
    deeplab_test=deeplab_test)

# W-OoD: the trained CAM classifier (`cam`) fine-tuned with SynthVOC's OoD
# split (`classifier`, configs/wood).
wood_config = 'configs/wood/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py'
wood_stages = dict(
    cam=classifier,
    classifier=dict(
        classifier,
        config=wood_config,
        cfg_options=dict(
            on_data, **{
                'load_from': '{cam.checkpoint}',
                'model.ood_data.dataset.data_root': data,
                'custom_hooks.0.in_dataset.data_root': data,
                'custom_hooks.0.ood_dataset.data_root': data,
            })))
# A CAM job of another method on the W-OoD classifier: its checkpoint also
# holds W-OoD's OoD centre buffers, which that model does not have.
wood_cams = dict(
    cams, cfg_options=dict(cams['cfg_options'], load_from_strict=False))
