# Semantic pseudo-masks of COCO 2014 train2014 from the RIB CAMs with RIB's
# COCO settings (run_sample_coco.py): CAM^1.3 before the walk, background
# score 0.22 (beta 10, 2^8 steps as IRN), and the IRNet of
# irnet_r50_1xb32-3e_coco14-512-rib.py.
#   python tools/test.py configs/rib/irnet-rw_r50_coco14-rib.py \
#       work_dirs/irnet_r50_1xb32-3e_coco14-512-rib/epoch_3.pth
_base_ = ['../irn/irnet-rw_r50_coco14.py']

cam_dir = 'work_dirs/rib-gndrp_r50-os16_k10-b15_coco14-512/cams'
model = dict(bg_threshold=0.22, cam_power=1.3)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
