# SynthVOC semantic pseudo-masks with the AffinityNet of
# configs/psa/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128.py and the
# SynthVOC CAMs (PSA's alpha 16 and beta 8).
#   python tools/test.py configs/psa/affinitynet-rw_r18w32-d8_synthvoc.py \
#       work_dirs/affinitynet_r18w32-d8_1xb16-10e_synthvoc-128/epoch_10.pth
# CAMs: cam_dir, the CAM config's test output in its default work dir
# (work_dirs/cam_r18w32-os16_1xb16-20e_synthvoc-112/cams); another folder:
# --cfg-options cam_dir=DIR.
_base_ = [
    '../_base_/models/affinitynet_r50-d8.py',
    '../_base_/datasets/synthvoc_affinitynet_rw.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(
    type='mmwsss.AffinityNetRandomWalk',
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    in_channels=(64, 128, 256),
    alpha=16,
    beta=8,
    # SynthVOC's stride-8 grids (12-24 cells a side) are ~3x smaller than
    # VOC's: 2**5 steps instead of 2**8, as configs/irn's SynthVOC walk
    logt=5)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
