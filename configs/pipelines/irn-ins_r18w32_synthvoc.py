# SynthVOC version of IRN's instance branch (VOC: ./irn-ins_r50_voc12aug.py,
# dissertation Table 5.1's IRNet row), CPU-sized: SynthVOC -> CAM classifier
# -> CAMs -> IR labels -> IRNet -> instance pseudo-masks of train (COCO json
# with the dataset's image ids; AP against the generator's instance masks) ->
# Mask R-CNN on them (configs/irn/mask-rcnn_*_synthvoc-240-irn.py), evaluated
# by mmdet's CocoMetric (segm) on the val masks.
#   python tools/run_pipeline.py configs/pipelines/irn-ins_r18w32_synthvoc.py
_base_ = ['./_base_/irn_synthvoc.py']

data = _base_.data
val_ann = data + '/annotations/instances_val.json'
stages = dict(
    synthvoc=_base_.synthvoc,
    classifier=_base_.classifier,
    cams=_base_.cams,
    ir_labels=_base_.ir_labels,
    irnet=_base_.irnet,
    instances=dict(
        kind='test',
        config=_base_.ins_config,
        checkpoint='{irnet.checkpoint}',
        outputs=dict(masks='masks', ann='instances_train.json'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            _base_.cam_dir_option: '{cams.cams}',
            'test_evaluator.0.output_dir': '{instances.masks}',
            'test_evaluator.0.ann_file': '{instances.ann}',
            'test_evaluator.0.source_ann_file':
            data + '/annotations/instances_train.json',
            'test_evaluator.1.instance_dir': data + '/SegmentationObject',
        },
        metrics=dict(
            voc_ap50='instance_pseudo_mask/voc_AP50',
            mask_ap='instance_pseudo_mask/mask_AP')),
    mask_rcnn=dict(
        kind='train',
        config='configs/irn/mask-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240-irn.py',
        cfg_options={
            'train_dataloader.dataset.ann_file': '{instances.ann}',
            'train_dataloader.dataset.data_prefix.img': data + '/JPEGImages/',
            'val_dataloader.dataset.data_root': data,
            'test_dataloader.dataset.data_root': data,
            'val_evaluator.ann_file': val_ann,
            'test_evaluator.ann_file': val_ann,
        },
        metrics=dict(
            segm_ap50='coco/segm_mAP_50', segm_ap='coco/segm_mAP')))
