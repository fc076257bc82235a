# TransCAM on MS COCO 2014 train2014 (80 classes) with the COCO recipe of
# BNR (Fujimori et al. 2024, §4.2, whose TransCAM baseline gives Table 1's
# COCO row): TransCAM's VOC recipe (Conformer-S, AdamW lr 5e-5, weight
# decay 5e-4, constant lr, long side 320-640, crop 512, CAMs from square
# 256/512/768 resizes + flips) with 10 epochs of batch 16.
# Train:  python tools/train.py configs/transcam/transcam_conformer-s_1xb16-10e_coco14-512.py
# CAMs:   python tools/test.py  configs/transcam/transcam_conformer-s_1xb16-10e_coco14-512.py CKPT
_base_ = ['./transcam_conformer-s_1xb8-20e_voc12aug-512.py']

data_root = 'data/coco2014'
num_classes = 80
model = dict(
    num_classes=num_classes,
    data_preprocessor=dict(num_classes=num_classes))

# the converted COCO layout (configs/_base_/datasets/coco14_cam.py)
train_set = dict(
    _delete_=True,
    type='mmwsss.VOCWSSSDataset',
    data_root=data_root,
    ann_file='ImageSets/train2014.txt',
    data_prefix=dict(
        img_path='train2014', seg_map_path='SegmentationClass/train2014'),
    label_source='seg')
cam_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.LoadLabelMap', num_classes=num_classes),
    dict(type='mmwsss.MultiScaleResize', scales=(1.0, )),
    dict(type='mmwsss.PackCAMInputs'),
]
train_dataloader = dict(
    batch_size=16,
    dataset=dict(train_set, pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        train_set,
        ann_file='ImageSets/val2014.txt',
        data_prefix=dict(
            img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        pipeline={{_base_.val_pipeline}}))
test_dataloader = dict(dataset=dict(train_set, pipeline=cam_pipeline))
test_evaluator = [
    dict(type='mmwsss.CAMWriter', output_dir='{work_dir}/cams'),
    dict(type='mmwsss.CAMSeedMetric'),
    dict(type='mmpretrain.AveragePrecision'),
]

train_cfg = dict(max_epochs=10, val_interval=10)
auto_scale_lr = dict(base_batch_size=16)
