# Semantic pseudo-masks of COCO 2014 train2014 from the AdvCAM CAMs: the
# random walk of configs/irn/irnet-rw_r50_coco14.py with AdvCAM's
# make_sem_seg_labels.py change, CAM^1.5 before the walk (background score
# 0.25), and the IRNet of irnet_r50_1xb32-3e_coco14-512-advcam.py.
#   python tools/test.py configs/advcam/irnet-rw_r50_coco14-advcam.py \
#       work_dirs/irnet_r50_1xb32-3e_coco14-512-advcam/epoch_3.pth
_base_ = ['../irn/irnet-rw_r50_coco14.py']

cam_dir = 'work_dirs/advcam_cam-r50-os16_coco14/cams'
model = dict(bg_threshold=0.25, cam_power=1.5)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
