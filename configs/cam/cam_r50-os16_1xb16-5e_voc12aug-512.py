# IRN CAM classifier on VOC 2012 train_aug with the reference recipe:
# crop 512, batch 16, 5 epochs, lr 0.1 (classifier 1.0), poly.
# Train:  python tools/train.py configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py
# CAMs:   python tools/test.py  configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py CKPT
_base_ = [
    '../_base_/models/cam_r50-os16.py',
    '../_base_/datasets/voc12aug_cam.py',
    '../_base_/schedules/cam_poly_5e.py',
    '../_base_/default_runtime_cls.py',
]
