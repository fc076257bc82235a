# SynthVOC IR labels from the CAMs of
# configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (train split).
_base_ = ['./voc12aug_ir_label.py']

data_root = 'data/synthvoc'
num_classes = 6
cam_dir = 'work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams'
ir_label_dir = '{work_dir}/ir_labels'

ir_label_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'high_res'),
         num_classes=num_classes),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.PackCAMInputs'),
]
test_dataloader = dict(
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClass',
            ann_path='Annotations'),
        label_source='xml',
        pipeline=ir_label_pipeline))
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
