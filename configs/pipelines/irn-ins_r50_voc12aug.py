# IRN's instance branch on VOC 2012 (Ahn et al., CVPR 2019), the IRNet row of
# dissertation Table 5.1: CAM classifier -> CAMs -> IR labels -> IRNet ->
# instance pseudo-masks of train_aug (displacement centroids + per-instance
# random walk; COCO json; AP@0.5 on the images with SegmentationObject) ->
# Mask R-CNN R-101-FPN on them (configs/irn/mask-rcnn_*-irn.py: the BBAM
# detector and schedule, plain mask head), evaluated on VOC val instance
# masks. Paper: val AP50 46.7, AP70 23.5 (Table 5.1); pseudo-masks AP50 37.7
# on train (IRN).
#   python tools/run_pipeline.py configs/pipelines/irn-ins_r50_voc12aug.py
_base_ = ['./_base_/irn_voc12aug.py']

stages = dict(
    classifier=_base_.classifier,
    cams=_base_.cams,
    ir_labels=_base_.ir_labels,
    irnet=_base_.irnet,
    instances=dict(
        kind='test',
        config=_base_.ins_config,
        checkpoint='{irnet.checkpoint}',
        outputs=dict(masks='masks', ann='instances_train_aug.json'),
        cfg_options={
            'test_dataloader.dataset.ann_file':
            'ImageSets/Segmentation/train_aug.txt',
            _base_.cam_dir_option: '{cams.cams}',
            'test_evaluator.0.output_dir': '{instances.masks}',
            'test_evaluator.0.ann_file': '{instances.ann}',
        },
        metrics=dict(
            voc_ap50='instance_pseudo_mask/voc_AP50',
            mask_ap='instance_pseudo_mask/mask_AP')),
    mask_rcnn=dict(
        kind='train',
        config='configs/irn/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-irn.py',
        cfg_options={'train_dataloader.dataset.ann_file': '{instances.ann}'},
        metrics=dict(
            segm_ap50='coco/segm_mAP_50',
            segm_ap75='coco/segm_mAP_75',
            segm_ap='coco/segm_mAP')))
