# BBAM's box branch on VOC 2012 (Lee et al., CVPR 2021; dissertation §5):
# Faster R-CNN R-101-FPN on the train_aug boxes -> BBAM attribution maps and
# pseudo-masks of every train_aug box (instance jsons: foreground at rank 0.85,
# ignore at 0.2; semantic PNGs) -> Mask R-CNN R-101-FPN on the instance
# pseudo-masks (seed growing; instance segmentation, val) and DeepLab-v2
# R-101 on the semantic ones (trained, then tested on val, 5 scales x flip).
# Paper: Mask R-CNN val AP50 61.9 without MCG (Table 5.4; 63.7 / AP70 39.5
# with MCG, Table 5.1: ./bbam_r101-caffe_voc12aug-mcg.py); DeepLab-v2 73.7
# val mIoU (Table 5.3).
#   python tools/run_pipeline.py configs/pipelines/bbam_r101-caffe_voc12aug.py \
#       --launcher pytorch --gpus 8
_base_ = ['./_base_/irn_voc12aug.py']

detector_config = (
    'configs/bbam/faster-rcnn_r101-caffe_fpn_8xb2-18k_voc12aug.py')
bbam_config = 'configs/bbam/bbam_faster-rcnn_r101-caffe_fpn_voc12aug.py'
mask_rcnn_config = (
    'configs/bbam/mask-rcnn_r101-caffe_fpn_8xb1-20k_voc12aug-bbam.py')

stages = dict(
    faster_rcnn=dict(
        kind='train',
        config=detector_config,
        metrics=dict(bbox_ap50='pascal_voc/mAP')),
    bbam=dict(
        kind='test',
        config=bbam_config,
        checkpoint='{faster_rcnn.checkpoint}',
        outputs=dict(
            maps='maps',
            masks='masks',
            semantic='semantic',
            fg_ann='instances_train_aug_fg85.json',
            ignore_ann='instances_train_aug_ignore20.json'),
        cfg_options={
            'test_evaluator.0.output_dir': '{bbam.maps}',
            'test_evaluator.1.output_dir': '{bbam.masks}',
            'test_evaluator.1.fg_ann_file': '{bbam.fg_ann}',
            'test_evaluator.1.ignore_ann_file': '{bbam.ignore_ann}',
            'test_evaluator.1.semantic_dir': '{bbam.semantic}',
        }),
    mask_rcnn=dict(
        kind='train',
        config=mask_rcnn_config,
        cfg_options={
            'train_dataloader.dataset.ann_file': '{bbam.fg_ann}',
            'train_dataloader.dataset.ignore_ann_file': '{bbam.ignore_ann}',
        },
        metrics=dict(
            segm_ap50='coco/segm_mAP_50',
            segm_ap75='coco/segm_mAP_75',
            segm_ap='coco/segm_mAP')),
    deeplab=dict(
        _base_.deeplab,
        cfg_options={
            'train_dataloader.dataset.pseudo_mask_dir': '{bbam.semantic}'
        }),
    deeplab_test=_base_.deeplab_test)
