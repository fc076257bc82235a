# IRN CAM classifier on MS COCO 2014 train2014 (80 classes) with the recipe
# of RIB's COCO scripts (run_sample_coco.py: IRN's VOC recipe unchanged):
# crop 512, batch 16, 5 epochs, lr 0.1 (classifier 1.0), poly, the
# reference's momentum quirk.
# Train:  python tools/train.py configs/cam/cam_r50-os16_1xb16-5e_coco14-512.py
# CAMs:   bash tools/dist_test.sh configs/cam/cam_r50-os16_1xb16-5e_coco14-512.py CKPT 8
_base_ = [
    '../_base_/models/cam_r50-os16.py',
    '../_base_/datasets/coco14_cam.py',
    '../_base_/schedules/cam_poly_5e.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    data_preprocessor=dict(num_classes=80), head=dict(num_classes=80))
# val2014 holds 40,137 images: classification mAP after the last epoch only
train_cfg = dict(val_interval=5)
