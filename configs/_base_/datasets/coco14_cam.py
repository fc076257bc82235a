# MS COCO 2014 (80 classes) with image-level labels for the CAM stage, as
# RIB's COCO scripts (jbeomlee93/RIB run_sample_coco.py): train on train2014
# (82,081 images with instances), CAMs of all of train2014 for the IRN
# stages. Expected layout (data_root) as distributed plus the output of
# tools/dataset_converters/coco14_wsss.py:
#   train2014/, val2014/, annotations/instances_{train,val}2014.json,
#   SegmentationClass/{train2014,val2014}/ (81 classes, crowd 255),
#   ImageSets/{train2014,val2014}.txt, meta.json
# Image-level labels are the classes of the converted label maps (crowd
# regions excluded), as the references' cls_labels_coco.npy. Pipelines,
# loaders and metrics are VOC's (./voc12aug_cam.py): IRN's classification
# augmentation, classification mAP on val, CAMs of the training images.
_base_ = ['./voc12aug_cam.py']

data_root = 'data/coco2014'
num_classes = 80

cam_pipeline = [
    dict(step, num_classes=num_classes) if 'num_classes' in step else step
    for step in _base_.cam_pipeline
]

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/train2014.txt',
        data_prefix=dict(
            _delete_=True,
            img_path='train2014',
            seg_map_path='SegmentationClass/train2014'),
        label_source='seg'))
# Classification mAP on val2014 (40,137 images: validate sparingly).
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            _delete_=True,
            img_path='val2014',
            seg_map_path='SegmentationClass/val2014'),
        label_source='seg'))
# CAMs of train2014 (the IRNet stage needs them all), scored against the
# converted train2014 masks (the papers' COCO seed protocol; RIB sweeps the
# background threshold over 0.10..0.50, inside the metric's 0.01..0.99).
test_dataloader = dict(
    dataset=dict(train_dataloader['dataset'], pipeline=cam_pipeline))
