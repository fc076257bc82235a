# SynthVOC version of BBAM's semantic box branch (VOC: the deeplab stages of
# ./bbam_r101-caffe_voc12aug.py, dissertation Table 5.3), CPU-sized:
# SynthVOC -> Faster R-CNN on the boxes -> BBAM pseudo-masks of every train
# image (the semantic PNGs; `make demo-box` stops at the config's first 100,
# DeepLab needs all) -> DeepLab-v2 trained on them, tested on val.
#   python tools/run_pipeline.py configs/pipelines/bbam-sem_r18w32_synthvoc.py
_base_ = ['./_base_/irn_synthvoc.py']

data = _base_.data
val_ann = data + '/annotations/instances_val.json'
stages = dict(
    synthvoc=dict(_base_.synthvoc, options=dict(seed=0)),
    faster_rcnn=dict(
        kind='train',
        config='configs/bbam/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py',
        cfg_options={
            'train_dataloader.dataset.data_root': data,
            'val_dataloader.dataset.data_root': data,
            'test_dataloader.dataset.data_root': data,
            'val_evaluator.ann_file': val_ann,
            'test_evaluator.ann_file': val_ann,
        },
        metrics=dict(bbox_ap50='coco/bbox_mAP_50')),
    bbam=dict(
        kind='test',
        config='configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py',
        checkpoint='{faster_rcnn.checkpoint}',
        outputs=dict(
            maps='maps',
            masks='masks',
            semantic='semantic',
            fg_ann='instances_train_fg85.json',
            ignore_ann='instances_train_ignore20.json'),
        cfg_options={
            'test_dataloader.dataset.data_root': data,
            'test_dataloader.dataset.indices': None,
            'test_evaluator.0.output_dir': '{bbam.maps}',
            'test_evaluator.1.output_dir': '{bbam.masks}',
            'test_evaluator.1.fg_ann_file': '{bbam.fg_ann}',
            'test_evaluator.1.ignore_ann_file': '{bbam.ignore_ann}',
            'test_evaluator.1.semantic_dir': '{bbam.semantic}',
        },
        metrics=dict(
            pseudo_miou='box_pseudo_mask/mIoU',
            box_baseline_miou='box_pseudo_mask/box_mIoU')),
    deeplab=dict(
        _base_.deeplab,
        cfg_options=dict(
            _base_.on_data,
            **{'train_dataloader.dataset.pseudo_mask_dir': '{bbam.semantic}'})),
    deeplab_test=_base_.deeplab_test)
