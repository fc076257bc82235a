# IR labels (IRN step 4) for COCO 2014 train2014 from the CAM files of the
# coco14 CAM configs (CAMWriter output) in cam_dir, scored against the
# converted train2014 masks (tools/dataset_converters/coco14_wsss.py).
# Images are not resized: the CAMs are full-resolution. Another CAM folder:
#   --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/coco2014'
num_classes = 80
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/cams'
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
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(
            img_path='train2014', seg_map_path='SegmentationClass/train2014'),
        label_source='seg',
        pipeline=ir_label_pipeline))
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
# The generator has no weights, which plain DDP refuses; this wrapper lets
# tools/dist_test.sh split the images over processes.
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
