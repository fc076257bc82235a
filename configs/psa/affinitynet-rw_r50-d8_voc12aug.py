# Semantic pseudo-masks by AffinityNet's random walk (PSA infer_aff.py
# defaults): background (1 - max CAM)**16, affinities**8, 2**8 steps, on the
# CAMs of configs/cam pooled to the stride-8 grid.
#   python tools/test.py configs/psa/affinitynet-rw_r50-d8_voc12aug.py \
#       work_dirs/affinitynet_r50-d8_1xb8-8e_voc12aug-448/epoch_8.pth
_base_ = [
    '../_base_/models/affinitynet_r50-d8.py',
    '../_base_/datasets/voc12aug_affinitynet_rw.py',
    '../_base_/default_runtime_cls.py',
]

model = dict(type='mmwsss.AffinityNetRandomWalk', alpha=16, beta=8, logt=8)
test_cfg = dict(type='mmwsss.ResumableTestLoop')
