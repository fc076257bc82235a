# W-OoD on MS COCO 2014 train2014 (80 classes). Neither the paper
# (CVPR 2022; dissertation Chapter 4, VOC only) nor naver-ai/w-ood gives a
# COCO recipe, a COCO OoD set or a COCO number: this is the W-OoD recipe of
# ./wood_r50-os16_k50_1xb16-5e_voc12aug-512.py (5 epochs from the trained CAM
# classifier, K = 50, lambda 0.007, OoD weight 0.25, tau 20 % pooled, OoD
# step 0.07, crop 512, batch 16, per-epoch checkpoint selection by val mAP)
# on the data of the COCO CAM recipe
# (configs/cam/cam_r50-os16_1xb16-5e_coco14-512.py). Not run (no COCO OoD
# set, no GPU here).
# Data: COCO as in configs/_base_/datasets/coco14_cam.py, and an OoD set you
# build (README.md, "MS COCO 2014"): images holding none of the 80 classes
# that the COCO CAM classifier still scores as one, listed one path per line
# (relative to ood_root) in
#   data/coco2014_ood/ood_list.txt
#   python tools/train.py configs/wood/wood_r50-os16_k50_1xb16-5e_coco14-512.py
#   bash tools/dist_test.sh configs/wood/wood_r50-os16_k50_1xb16-5e_coco14-512.py \
#       work_dirs/wood_r50-os16_k50_1xb16-5e_coco14-512/best_*.pth 8
_base_ = ['./wood_r50-os16_k50_1xb16-5e_voc12aug-512.py']

load_from = 'work_dirs/cam_r50-os16_1xb16-5e_coco14-512/epoch_5.pth'
data_root = 'data/coco2014'
ood_root = 'data/coco2014_ood'
num_classes = 80

# train2014 as the COCO CAM recipe reads it: labels from the converted
# label maps (crowd regions excluded)
train2014_dataset = dict(
    type='mmwsss.VOCWSSSDataset',
    data_root=data_root,
    ann_file='ImageSets/train2014.txt',
    data_prefix=dict(
        img_path='train2014', seg_map_path='SegmentationClass/train2014'),
    label_source='seg')
cam_pipeline = [
    dict(step, num_classes=num_classes) if 'num_classes' in step else step
    for step in _base_.cam_pipeline
]
ood_train_dataset = dict(_base_.ood_train_dataset, data_root=ood_root)

model = dict(
    data_preprocessor=dict(num_classes=num_classes),
    head=dict(num_classes=num_classes),
    ood_data=dict(dataset=ood_train_dataset),
    # the reference's "bottle" exclusion belongs to its VOC OoD set
    excluded_classes=())

train_dataloader = dict(
    dataset=dict(
        train2014_dataset, _delete_=True, pipeline=_base_.train_pipeline))
# Checkpoint selection by classification mAP on val2014 after every epoch,
# as on VOC: a forward pass over 40,137 images per epoch of 82,081 trained
# ones (the COCO CAM recipe validates once; with train_cfg.val_interval=5
# the last epoch is kept).
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            _delete_=True,
            img_path='val2014',
            seg_map_path='SegmentationClass/val2014'),
        label_source='seg'))
test_dataloader = dict(
    dataset=dict(train2014_dataset, _delete_=True, pipeline=cam_pipeline))

# The class centres from train2014, the OoD clusters from the COCO OoD set.
custom_hooks = [
    dict(
        _base_.custom_hooks[0],
        in_dataset=dict(
            train2014_dataset,
            pipeline=_base_.custom_hooks[0].in_dataset.pipeline),
        ood_dataset=dict(
            _base_.custom_hooks[0].ood_dataset, data_root=ood_root))
]
