# Semantic pseudo-masks of VOC 2012 train_aug from the RIB CAMs: the random
# walk of configs/irn/irnet-rw_r50_voc12aug.py with RIB's run_sample.py
# settings, CAM^1.3 before the walk and background score 0.27 (IRN: 1 /
# 0.25), and the IRNet of irnet_r50_1xb32-3e_voc12aug-512-rib.py.
#   python tools/test.py configs/rib/irnet-rw_r50_voc12aug-rib.py \
#       work_dirs/irnet_r50_1xb32-3e_voc12aug-512-rib/epoch_3.pth
_base_ = ['../irn/irnet-rw_r50_voc12aug.py']

cam_dir = 'work_dirs/rib-gndrp_r50-os16_k10-b20_voc12aug-512/cams'
model = dict(bg_threshold=0.27, cam_power=1.3)
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
