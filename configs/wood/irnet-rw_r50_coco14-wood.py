# Semantic pseudo-masks of COCO 2014 train2014 from the W-OoD CAMs with
# W-OoD's random-walk settings (its VOC run_sample.py; no COCO script
# exists): CAM^1.5 before the walk, background score 0.22 (beta 10, 2^8
# steps as IRN), and the IRNet of irnet_r50_1xb32-3e_coco14-512-wood.py.
#   python tools/test.py configs/wood/irnet-rw_r50_coco14-wood.py \
#       work_dirs/irnet_r50_1xb32-3e_coco14-512-wood/epoch_3.pth
_base_ = ['../irn/irnet-rw_r50_coco14.py']

cam_dir = 'work_dirs/wood_r50-os16_k50_1xb16-5e_coco14-512/cams'
model = dict(bg_threshold=0.22, cam_power=1.5)
test_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, cam_dir=cam_dir) if 'cam_dir' in step else step
        for step in _base_.test_dataloader.dataset.pipeline
    ]))
