# SynthVOC instance pseudo-masks with the IRNet of
# configs/irn/irnet_r18w32_1xb16-10e_synthvoc-128.py and the SynthVOC CAMs:
# displacement centroids -> instances -> per-instance random walk. Writes
# <work dir>/instance_masks/<id>.instances.json, merges them into
# <work dir>/instance_masks.json (COCO, RLE masks, scores) and
# reports the AP@0.5 against SegmentationObject.
#   python tools/test.py configs/irn/irnet-ins_r18w32_synthvoc.py \
#       work_dirs/irnet_r18w32_1xb16-10e_synthvoc-128/epoch_10.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/models/irnet_r50.py',
    '../_base_/datasets/synthvoc_irn_ins_seg.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.IRNetInstanceWalk',
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    in_channels=(64, 32, 64, 128, 256),
    test_pad_size=192,
    beta=10,
    # SynthVOC's stride-4 grids (24-48 cells a side) are ~3x smaller than
    # VOC's: 2**5 steps instead of 2**8, and background 0.05 (swept on
    # SynthVOC train, see configs/irn/README.md)
    exp_times=5,
    walk_radius=5,
    bg_threshold=0.05,
    cam_power=1.0,
    min_area_ratio=0.01,
    centroid_iterations=300,
    centre_threshold=2.5)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
