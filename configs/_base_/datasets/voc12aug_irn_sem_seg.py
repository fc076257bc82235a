# Semantic pseudo-masks (IRN step 7) for VOC 2012 train_aug, the training set
# of the segmentation stage, scored against SegmentationClassAug. The papers
# report VOC `train` (1464 images): override
# test_dataloader.dataset.ann_file=ImageSets/Segmentation/train.txt.
# Images are used at full resolution (padded to 512 by IRNet). The strided
# CAMs come from cam_dir (configs/cam's CAMWriter output); another folder:
# --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
dataset_type = 'mmwsss.VOCWSSSDataset'
data_root = 'data/VOCdevkit/VOC2012'
num_classes = 20
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_voc12aug-512/cams'
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
        ann_file='ImageSets/Segmentation/train_aug.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='SegmentationClassAug',
            ann_path='Annotations'),
        label_source='xml',
        pipeline=sem_seg_pipeline))
test_evaluator = [
    dict(type='mmwsss.PseudoMaskWriter', output_dir=pseudo_mask_dir),
    dict(type='mmwsss.PseudoMaskMetric'),
]
