# Semantic pseudo-masks (IRN step 7) for COCO 2014 train2014, the training
# set of the segmentation stage (RIB's run_sample_coco.py infers all of
# train14), scored against the converted train2014 masks; the rest as
# ./voc12aug_irn_sem_seg.py. The strided CAMs come from cam_dir (a coco14
# CAMWriter output); another folder:
# --cfg-options test_dataloader.dataset.pipeline.1.cam_dir=DIR
_base_ = ['./voc12aug_irn_sem_seg.py']

data_root = 'data/coco2014'
num_classes = 80
cam_dir = 'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/cams'

# VOC's steps with COCO's CAM folder and classes
sem_seg_pipeline = [
    _base_.sem_seg_pipeline[0],
    dict(
        _base_.sem_seg_pipeline[1],
        cam_dir=cam_dir,
        num_classes=num_classes),
    dict(_base_.sem_seg_pipeline[2], num_classes=num_classes),
    _base_.sem_seg_pipeline[3],
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
        pipeline=sem_seg_pipeline))
