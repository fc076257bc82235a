# Semantic pseudo-masks of VOC 2012 train_aug from the AdvCAM CAMs: the random
# walk of configs/irn/irnet-rw_r50_voc12aug.py with AdvCAM's
# make_sem_seg_labels.py change, CAM^1.5 before the walk (background score
# 0.25 as IRN), and the IRNet of irnet_r50_1xb32-3e_voc12aug-512-advcam.py.
#   python tools/test.py configs/advcam/irnet-rw_r50_voc12aug-advcam.py \
#       work_dirs/irnet_r50_1xb32-3e_voc12aug-512-advcam/epoch_3.pth
_base_ = ['../irn/irnet-rw_r50_voc12aug.py']

cam_dir = 'work_dirs/advcam_cam-r50-os16_voc12aug/cams'
model = dict(bg_threshold=0.25, cam_power=1.5)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='mmwsss.LoadImageRGB'),
        dict(
            type='mmwsss.LoadCAMFile',
            cam_dir=cam_dir,
            arrays=('keys', 'strided'),
            num_classes=20),
        dict(type='mmwsss.LoadLabelMap', num_classes=20),
        dict(type='mmwsss.PackCAMInputs'),
    ]))
