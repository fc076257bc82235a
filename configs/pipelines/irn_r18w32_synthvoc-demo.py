# `make demo`: image-level labels to a trained segmenter on SynthVOC, every
# step a standard tool run (python tools/run_pipeline.py THIS_FILE):
# SynthVOC with 2-3 emblem parts per object (so that CAMs reach into the
# object bodies, configs/irn/README.md) -> CAM classifier -> its CAMs scored
# as seeds over a threshold sweep, next to uniformly random maps (chance) ->
# the same with the MoANA neck -> IR labels from the MoANA CAMs (the better
# seeds on SynthVOC) -> IRNet -> random-walk pseudo-masks -> DeepLab-v2 on
# them, validated on the val ground truth -> its predictions on the train
# images, for the report's gallery.
cam_config = 'configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py'
moana_config = 'configs/moana/moana_r18w32-os16_1xb16-20e_synthvoc-112.py'
ir_label_config = 'configs/irn/ir-label_r18w32-os16_synthvoc.py'
irnet_config = 'configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py'
rw_config = 'configs/irn/irnet-rw_r18w32_synthvoc.py'
deeplab_config = ('configs/deeplabv2/'
                  'deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112_pseudo.py')

data = '{synthvoc.data}'
on_data = {
    'train_dataloader.dataset.data_root': data,
    'val_dataloader.dataset.data_root': data,
    'test_dataloader.dataset.data_root': data,
}
# The CAM folder of the IR-label and random-walk configs: the cam_dir of
# their mmwsss.LoadCAMFile, right after the image loading.
cam_dir_option = 'test_dataloader.dataset.pipeline.1.cam_dir'
# A CAM test run writes the CAMs (evaluator 0) and scores them as seeds
# over the threshold sweep (evaluator 1, its report in out_file).
seed_metrics = dict(
    miou='cam_seed/mIoU',
    threshold='cam_seed/threshold',
    precision='cam_seed/precision',
    recall='cam_seed/recall',
    per_class='report:per_class')

stages = dict(
    synthvoc=dict(
        kind='script',
        script='tools/dataset_converters/generate_synthetic_voc.py',
        args=[data],
        options=dict(seed=0, emblem_parts=[2, 3]),
        outputs=dict(data='data')),
    cam=dict(
        kind='train',
        config=cam_config,
        cfg_options=on_data,
        metrics=dict(cls_map='multi-label/mAP')),
    cam_seeds=dict(
        kind='test',
        config=cam_config,
        checkpoint='{cam.checkpoint}',
        outputs=dict(cams='cams', report='seeds.json'),
        cfg_options=dict(
            on_data, **{
                'test_evaluator.0.output_dir': '{cam_seeds.cams}',
                'test_evaluator.1.out_file': '{cam_seeds.report}',
            }),
        metrics=seed_metrics),
    cam_chance=dict(
        kind='script',
        script='tools/analysis/eval_cam_seeds.py',
        args=[cam_config, '{cam_seeds.cams}'],
        options=dict(random_cams=0, out='{cam_chance.report}'),
        cfg_options={'test_dataloader.dataset.data_root': data},
        outputs=dict(report='chance.json'),
        metrics=dict(miou='report:miou', threshold='report:best_threshold')),
    moana=dict(
        kind='train',
        config=moana_config,
        cfg_options=on_data,
        metrics=dict(cls_map='multi-label/mAP')),
    moana_seeds=dict(
        kind='test',
        config=moana_config,
        checkpoint='{moana.checkpoint}',
        outputs=dict(cams='cams', report='seeds.json'),
        cfg_options=dict(
            on_data, **{
                'test_evaluator.0.output_dir': '{moana_seeds.cams}',
                'test_evaluator.1.out_file': '{moana_seeds.report}',
            }),
        metrics=seed_metrics),
    ir_labels=dict(
        kind='test',
        config=ir_label_config,
        checkpoint='{moana.checkpoint}',
        outputs=dict(labels='labels'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            cam_dir_option: '{moana_seeds.cams}',
            'test_evaluator.0.output_dir': '{ir_labels.labels}',
        },
        metrics=dict(
            precision='ir_label/precision', labelled='ir_label/labelled')),
    irnet=dict(
        kind='train',
        config=irnet_config,
        cfg_options={
            # its frozen backbone is the CAM classifier's
            'model.backbone.init_cfg.checkpoint': '{moana.checkpoint}',
            'train_dataloader.dataset.data_root': data,
            'train_dataloader.dataset.ir_label_dir': '{ir_labels.labels}',
            'custom_hooks.0.dataloader.dataset.data_root': data,
        }),
    pseudo_masks=dict(
        kind='test',
        config=rw_config,
        checkpoint='{irnet.checkpoint}',
        outputs=dict(masks='masks'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            cam_dir_option: '{moana_seeds.cams}',
            'test_evaluator.0.output_dir': '{pseudo_masks.masks}',
        },
        metrics=dict(
            miou='pseudo_mask/mIoU',
            precision='pseudo_mask/mPrecision',
            recall='pseudo_mask/mRecall')),
    deeplab=dict(
        kind='train',
        config=deeplab_config,
        cfg_options=dict(
            on_data, **{
                'train_dataloader.dataset.pseudo_mask_dir':
                '{pseudo_masks.masks}'
            }),
        metrics=dict(val_miou='mIoU')),
    # The trained segmenter on the train split (the images of the CAMs, IR
    # labels and pseudo-masks): its predictions (evaluator 1) put it next to
    # them in the report's gallery; its mIoU there against the ground truth
    # compares with the pseudo-masks' it was trained on.
    deeplab_predictions=dict(
        kind='test',
        config=deeplab_config,
        checkpoint='{deeplab.checkpoint}',
        outputs=dict(predictions='predictions'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            'test_dataloader.dataset.ann_file':
            'ImageSets/Segmentation/train.txt',
            'test_evaluator.1.output_dir':
            '{deeplab_predictions.predictions}',
        },
        metrics=dict(train_miou='mIoU')),
)
