# IR labels (IRN step 4) for COCO 2014 train2014 from the CAM files of the
# coco14 CAM configs (CAMWriter output) in cam_dir, scored against the
# converted train2014 masks (tools/dataset_converters/coco14_wsss.py); the
# rest as ./voc12aug_ir_label.py. Images are not resized: the CAMs are
# full-resolution. Another CAM folder:
#   --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
_base_ = ['./voc12aug_ir_label.py']

data_root = 'data/coco2014'
num_classes = 80
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/cams'

# VOC's steps with COCO's CAM folder and classes
ir_label_pipeline = [
    _base_.ir_label_pipeline[0],
    dict(
        _base_.ir_label_pipeline[1],
        cam_dir=cam_dir,
        num_classes=num_classes),
    dict(_base_.ir_label_pipeline[2], num_classes=num_classes),
    _base_.ir_label_pipeline[3],
]
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(
            _delete_=True,
            img_path='train2014',
            seg_map_path='SegmentationClass/train2014'),
        label_source='seg',
        pipeline=ir_label_pipeline))
