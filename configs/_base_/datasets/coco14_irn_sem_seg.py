# Semantic pseudo-masks (IRN step 7) for COCO 2014 train2014, the training
# set of the segmentation stage (RIB's run_sample_coco.py infers all of
# train14), scored against the converted train2014 masks. The strided CAMs
# come from cam_dir (a coco14 CAMWriter output); another folder:
# --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/coco2014'
num_classes = 80
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/cams'
pseudo_mask_dir = '{work_dir}/pseudo_masks'

sem_seg_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadCAMFile', cam_dir=cam_dir,
         arrays=('keys', 'strided'),
         num_classes=num_classes),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.PackCAMInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
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
        pipeline=sem_seg_pipeline))
test_evaluator = [
    dict(type='mmwsss.PseudoMaskWriter', output_dir=pseudo_mask_dir),
    dict(type='mmwsss.PseudoMaskMetric'),
]
