# `make demo-box`: box labels to a trained instance segmenter on SynthVOC
# (python tools/run_pipeline.py THIS_FILE): SynthVOC -> Faster R-CNN on the
# boxes -> BBAM pseudo-masks of (the config's first 100) train images, scored
# against the generator's masks next to the filled-box baseline -> Mask R-CNN,
# initialised from the detector, on the pseudo-masks, evaluated by mmdet's
# CocoMetric (segm) on the val masks.
detector_config = (
    'configs/bbam/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py')
bbam_config = 'configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py'
mask_rcnn_config = (
    'configs/bbam/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-bbam.py')

data = '{synthvoc.data}'
val_ann = data + '/annotations/instances_val.json'
on_eval_data = {
    'val_dataloader.dataset.data_root': data,
    'test_dataloader.dataset.data_root': data,
    'val_evaluator.ann_file': val_ann,
    'test_evaluator.ann_file': val_ann,
}

stages = dict(
    synthvoc=dict(
        kind='script',
        script='tools/dataset_converters/generate_synthetic_voc.py',
        args=[data],
        options=dict(seed=0),
        outputs=dict(data='data')),
    faster_rcnn=dict(
        kind='train',
        config=detector_config,
        cfg_options=dict(
            on_eval_data, **{'train_dataloader.dataset.data_root': data}),
        metrics=dict(bbox_ap50='coco/bbox_mAP_50')),
    bbam=dict(
        kind='test',
        config=bbam_config,
        checkpoint='{faster_rcnn.checkpoint}',
        outputs=dict(
            maps='maps',
            masks='masks',
            semantic='semantic',
            fg_ann='instances_train_fg85.json',
            ignore_ann='instances_train_ignore20.json'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            'test_evaluator.0.output_dir': '{bbam.maps}',
            'test_evaluator.1.output_dir': '{bbam.masks}',
            'test_evaluator.1.fg_ann_file': '{bbam.fg_ann}',
            'test_evaluator.1.ignore_ann_file': '{bbam.ignore_ann}',
            'test_evaluator.1.semantic_dir': '{bbam.semantic}',
        },
        metrics=dict(
            pseudo_miou='box_pseudo_mask/mIoU',
            box_baseline_miou='box_pseudo_mask/box_mIoU',
            pseudo_mask_ap='box_pseudo_mask/mask_AP',
            box_baseline_mask_ap='box_pseudo_mask/box_mask_AP',
            mean_instance_iou='box_pseudo_mask/mean_instance_IoU')),
    mask_rcnn=dict(
        kind='train',
        config=mask_rcnn_config,
        cfg_options=dict(
            on_eval_data, **{
                'train_dataloader.dataset.ann_file': '{bbam.fg_ann}',
                'train_dataloader.dataset.ignore_ann_file':
                '{bbam.ignore_ann}',
                'train_dataloader.dataset.data_prefix.img':
                data + '/JPEGImages/',
                'load_from': '{faster_rcnn.checkpoint}',
            }),
        metrics=dict(
            segm_ap50='coco/segm_mAP_50', segm_ap='coco/segm_mAP')),
)
