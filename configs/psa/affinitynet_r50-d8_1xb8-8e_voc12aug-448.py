# AffinityNet on the la/ha labels of psa-label_r50-os16_voc12aug.py, PSA's
# train_aff recipe: crop 448, batch 8, 8 epochs, lr 0.1 (head x10), weight
# decay 5e-4, momentum quirk, poly; colour jitter, crop, flip.
#   python tools/train.py configs/psa/affinitynet_r50-d8_1xb8-8e_voc12aug-448.py
_base_ = [
    '../_base_/models/affinitynet_r50-d8.py',
    '../_base_/datasets/voc12aug_affinitynet.py',
    '../_base_/schedules/psa_poly_8e.py',
    '../_base_/default_runtime_cls.py',
]

default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=1))
