# IR labels (IRN step 4) for VOC 2012 train_aug from the CAM files of
# configs/cam (test_evaluator CAMWriter output) in cam_dir, scored against
# SegmentationClassAug. Images are not resized: the CAMs are full-resolution.
# Another CAM folder:
#   --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams'
ir_label_dir = '{work_dir}/ir_labels'

ir_label_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'high_res'),
         num_classes=num_classes),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.PackCAMInputs'),
]
# The CRFs run in the model's processes (IRLabelGenerator.num_workers).
# Without ground truth, drop LoadLabelMap and IRLabelMetric.
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClassAug',
            ann_path='Annotations'),
        label_source='xml',
        pipeline=ir_label_pipeline))
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
# The generator has no weights, which plain DDP refuses; this wrapper lets
# tools/dist_test.sh split the images over processes.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
